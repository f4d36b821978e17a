"""Comment themes learned from the workspace's own NPS comments, with coverage, contrast and quotes.

Method (every number is a `feedback.theme_*` setting):
  1. Each comment becomes a TF-IDF vector over its words and consecutive word pairs (nps_text: light
     normalisation, English stop words, plurals folded; a term must occur in 2 distinct comments and in at
     most half of them).
  2. Latent semantic analysis (truncated SVD to theme_dimensions) maps the vectors to a space where comments
     that use related words ("slow", "sluggish", "crawls") come close; rows are scaled to unit length.
  3. Spherical k-means (k-means on unit vectors, fixed seed) groups them. A comment belongs to every theme whose
     centre it is within cosine theme_min_similarity of and one of whose 30 most distinctive terms it uses; a
     comment in no theme is 'other'. Coverage is the share of comments in at least one theme.
  4. The number of themes k is the smallest in [theme_k_min, theme_k_max] whose coverage comes within
     theme_k_tolerance of the best coverage any k in the range reaches (measured on a fixed-seed sample, at the
     stricter closeness theme_select_similarity, which two topics merged into one theme lose): the fewest themes
     that explain nearly as many comments as the most allowed.
  5. A theme is named by its most distinctive terms (class-based TF-IDF: weight in the comments nearest to it,
     discounted by the term's weight in all themes); when at least theme_seed_match of its closest comments
     match a configured seed theme's keywords, it takes the seed's name.
  6. Contrast: the share of detractor comments in the theme against the share of promoter comments, with a
     two-proportion z-test; p-values are Holm-adjusted over the answer's themes. A theme drives detractors when
     the adjusted p-value is at most theme_significance, its detractor share is at least theme_driver_lift times
     the promoter share and it has theme_min_mentions detractor comments (promoters the other way round).
  7. Quotes are the comments closest to the theme's centre among those whose nearest theme it is, first those
     that use a word of the theme's name (a quote then shows what the name says).
With fewer than theme_min_comments comments (or theme_method 'keywords') the seed themes' keywords make the
themes instead, and the answer says so.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from cs_mcp.domain.nps_text import Analyzer, keyword_pattern, naming_terms, plain, snippet, theme_name

if TYPE_CHECKING:
    import numpy as np

    from cs_mcp.config import FeedbackSettings

Side = Literal["promoter", "passive", "detractor"]
SEED = 0
TOP_TERMS = 8
THEME_VOCABULARY = 30  # a theme's own words: its most distinctive terms
SEED_CHECK = 200  # closest comments of a theme checked against the seed keywords
CHOOSING_RESTARTS, FIT_RESTARTS = 2, 4  # k-means restarts while choosing k, then for the chosen k
MAX_ITERATIONS = 50
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Comment:
    """One respondent's comment in the period, with what the answer shows of it."""

    text: str
    side: Side
    account_id: str
    score: int
    responded_at: dt.date


class ThemeQuote(BaseModel):
    account_id: str
    score: int
    responded_at: dt.date
    text: str = Field(description="the comment, cut to feedback.example_chars")
    similarity: float = Field(description="closeness to the theme: cosine to its centre (keywords: share of words "
                              "that are keywords)")


class ThemeStat(BaseModel):
    theme: str = Field(description="the seed theme's name when the comments match one, else the top terms")
    top_terms: list[str] = Field(description="terms carrying most weight in the theme's comments, strongest first")
    seed: str | None = Field(description="configured theme (feedback.themes) whose keywords the comments match")
    seed_match: float | None = Field(description="share of the theme's closest comments matching the seed")
    mentions: int = Field(description="comments in the theme (a comment can be in two)")
    promoter_mentions: int
    passive_mentions: int
    detractor_mentions: int
    share_of_comments: float | None = Field(description="mentions / comments")
    share_of_promoter_comments: float | None
    share_of_detractor_comments: float | None
    difference: float | None = Field(description="detractor share - promoter share")
    z: float | None = Field(description="two-proportion z statistic of the difference; positive: detractors")
    p_value: float | None = Field(description="two-sided, Holm-adjusted over the answer's themes")
    driver_of: Literal["promoters", "detractors"] | None = Field(
        description="whose driver the theme is (significant, lifted, enough mentions); null when neither"
    )
    examples: list[ThemeQuote] = Field(description="the comments closest to the theme")


class KCandidate(BaseModel):
    k: int
    coverage: float = Field(description="share of the selection sample within theme_select_similarity of a theme")


class ThemeCoverage(BaseModel):
    method: Literal["discovered", "keywords"]
    reason: str | None = Field(None, description="why the seed keywords made the themes, when they did")
    comments: int
    covered: int = Field(description="comments in at least one theme")
    coverage: float | None = Field(description="covered / comments")
    other: int = Field(description="comments in no theme")
    other_promoters: int
    other_passives: int
    other_detractors: int
    k: int | None = Field(None, description="themes discovered before small ones joined 'other'")
    candidates: list[KCandidate] = Field(default_factory=list, description="coverage for each k tried")
    vocabulary: int | None = Field(None, description="terms after pruning")


@dataclass
class ThemeResult:
    themes: list[ThemeStat]
    coverage: ThemeCoverage
    primary: list[str | None] = field(default_factory=list)
    """Per input comment, the name of its nearest theme (None: other)."""


@dataclass
class _Membership:
    names: list[str]
    terms: list[list[str]]
    seeds: list[str | None]
    seed_match: list[float | None]
    member: np.ndarray  # bool, comments x themes
    closeness: np.ndarray  # float, comments x themes
    primary: np.ndarray  # int, -1 = other
    on_topic: np.ndarray | None = None  # bool, comments x themes: uses a term of the theme's name


def comment_themes(comments: list[Comment], fb: FeedbackSettings) -> ThemeResult:
    """Themes of the comments: discovered when there are enough, else the seed keywords."""
    reason = None
    if fb.theme_method == "keywords":
        reason = "feedback.theme_method is 'keywords'"
    elif len(comments) < fb.theme_min_comments:
        reason = f"{len(comments)} comments, fewer than feedback.theme_min_comments ({fb.theme_min_comments})"
    extra: dict[str, Any] = {}
    if reason is None:
        from threadpoolctl import threadpool_limits

        # the products here are small: with several BLAS threads they wait on each other more than they compute
        with threadpool_limits(1):
            found = _discover([c.text for c in comments], fb)
        if found is None:
            reason = "the comments share no words to learn themes from"
        else:
            membership, extra = found
            _label_with_seeds(membership, [c.text for c in comments], fb)
    if reason is not None:
        membership = _keyword_membership([c.text for c in comments], fb.themes)
    return _result(comments, membership, fb, "keywords" if reason else "discovered", reason, extra)


# --------------------------------------------------------------------------- discovery


def _discover(texts: list[str], fb: FeedbackSettings) -> tuple[_Membership, dict[str, Any]] | None:
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

    analyzer = Analyzer(fb.theme_stop_words)
    # identical comments ('ok', 'great service') are read once; the vocabulary is that of the distinct texts
    distinct, inverse = np.unique(np.array(texts, dtype=object), return_inverse=True)
    vectorizer = CountVectorizer(
        analyzer=analyzer, min_df=2, max_df=0.5, max_features=fb.theme_max_terms, dtype=np.float32
    )
    try:
        counts = vectorizer.fit_transform(list(distinct))
    except ValueError:  # every comment is stop words or a one-off word
        return None
    x = TfidfTransformer(sublinear_tf=True).fit_transform(counts[inverse]).astype(np.float32)
    terms = vectorizer.get_feature_names_out()
    has_terms = np.asarray(x.getnnz(axis=1)).ravel() > 0
    rows = np.flatnonzero(has_terms)
    if len(rows) < max(fb.theme_k_min * 2, 4) or len(terms) < 3:
        return None
    z = _semantic_space(x, rows[_sample(len(rows), fb.theme_fit_sample)], fb.theme_dimensions)
    k, candidates = _choose_k(z[rows], fb)
    centres = _fit_centres(z[rows], k, fb.theme_fit_sample, FIT_RESTARTS)
    closeness = z @ centres.T
    closeness[~has_terms] = 0.0
    near = closeness >= fb.theme_min_similarity
    nearest = np.where(near.any(axis=1), closeness.argmax(axis=1), -1)
    ranked = _top_terms(x, nearest, k, terms, THEME_VOCABULARY)
    # a comment joins a theme only when it also uses one of the theme's own words: near in the semantic space
    # alone can be an accident of a two-word comment
    uses = np.column_stack([_uses_any(x, vectorizer.vocabulary_, words) for words in ranked]) if k else near
    member = near & uses
    keep = member.sum(axis=0) >= fb.theme_min_size
    closeness, member = closeness[:, keep], member[:, keep]
    ranked = [r[:TOP_TERMS] for r, kept in zip(ranked, keep, strict=True) if kept]
    primary = np.where(member.any(axis=1), np.where(member, closeness, -np.inf).argmax(axis=1), -1)
    names: list[str] = []
    readable_terms = []
    on_topic = []
    for top in ranked:
        readable = [analyzer.readable(t) for t in top]
        name, used = theme_name(naming_terms(readable), set(names))
        names.append(name)
        readable_terms.append(readable)
        raw = dict(zip(readable, top, strict=True))
        on_topic.append(_uses_any(x, vectorizer.vocabulary_, [raw[u] for u in used if u in raw]))
    membership = _Membership(
        names=names, terms=readable_terms, seeds=[None] * len(names), seed_match=[None] * len(names),
        member=member, closeness=closeness, primary=primary,
        on_topic=np.column_stack(on_topic) if on_topic else None,
    )
    return membership, {"k": k, "candidates": candidates, "vocabulary": len(terms)}


def _semantic_space(x: Any, rows: np.ndarray, dimensions: int) -> np.ndarray:
    """Comments as unit vectors in a latent semantic space (SVD of the TF-IDF matrix)."""
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    d = min(dimensions, x.shape[1] - 1, len(rows) - 1)
    if d < 2:
        return normalize(x.toarray())
    svd = TruncatedSVD(d, algorithm="randomized", n_iter=5, random_state=SEED)
    svd.fit(x[rows])
    return normalize(svd.transform(x)).astype(np.float32)


def _sample(n: int, size: int) -> np.ndarray:
    import numpy as np

    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, size, replace=False))


def _fit_centres(z: np.ndarray, k: int, sample: int, restarts: int) -> np.ndarray:
    """Unit centres of spherical k-means on a fixed-seed sample: the best of `restarts` k-means++ starts."""
    import numpy as np

    fit = z[_sample(len(z), sample)]
    k = min(k, len(fit))
    best, best_fit = None, -np.inf
    for restart in range(restarts):
        centres = _spherical_kmeans(fit, k, np.random.default_rng(SEED + restart))
        objective = float((fit @ centres.T).max(axis=1).sum())
        if objective > best_fit + 1e-6:
            best, best_fit = centres, objective
    return best


def _spherical_kmeans(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Lloyd iterations on unit vectors: assign to the most similar centre, centre = normalised mean."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.preprocessing import normalize

    n = len(z)
    centres = _kmeans_plus_plus(z, k, rng)
    labels = np.full(n, -1)
    for _ in range(MAX_ITERATIONS):
        sims = z @ centres.T
        new_labels = sims.argmax(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        sums = csr_matrix((np.ones(n, dtype=z.dtype), (labels, np.arange(n))), shape=(k, n)) @ z
        empty = np.flatnonzero(np.abs(sums).sum(axis=1) == 0)
        if len(empty):
            # an emptied centre restarts on the comments farthest from their own centres
            far = np.argsort(sims[np.arange(n), labels], kind="stable")[: len(empty)]
            sums[empty] = z[far]
        centres = normalize(sums).astype(z.dtype)
    return centres


def _kmeans_plus_plus(z: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding with cosine distance: each next centre drawn in proportion to 1 - its best similarity."""
    import numpy as np

    chosen = [int(rng.integers(len(z)))]
    best = z @ z[chosen[0]]
    for _ in range(1, k):
        weight = np.clip(1.0 - best, 0.0, None).astype(np.float64)
        total = weight.sum()
        nxt = int(rng.choice(len(z), p=weight / total)) if total > 0 else int(rng.integers(len(z)))
        chosen.append(nxt)
        best = np.maximum(best, z @ z[nxt])
    return z[chosen].copy()


def _choose_k(z: np.ndarray, fb: FeedbackSettings) -> tuple[int, list[KCandidate]]:
    """The smallest k whose coverage is within theme_k_tolerance of the best coverage in the range."""
    sample = z[_sample(len(z), fb.theme_select_sample)]
    hi = min(fb.theme_k_max, max(fb.theme_k_min, len(sample) // max(fb.theme_min_size, 2)))
    coverage: dict[int, float] = {}
    for k in range(fb.theme_k_min, hi + 1):
        centres = _fit_centres(sample, k, len(sample), CHOOSING_RESTARTS)
        coverage[k] = float(((sample @ centres.T).max(axis=1) >= fb.theme_select_similarity).mean())
    best = max(coverage.values())
    chosen = min(k for k, c in coverage.items() if c >= best - fb.theme_k_tolerance)
    return chosen, [KCandidate(k=k, coverage=round(c, 4)) for k, c in coverage.items()]


def _uses_any(x: Any, vocabulary: dict[str, int], words: list[str]) -> np.ndarray:
    """Whether each comment's vector has weight on any of these terms."""
    import numpy as np

    columns = [vocabulary[w] for w in words if w in vocabulary]
    return np.asarray(x[:, columns].getnnz(axis=1)).ravel() > 0 if columns else np.zeros(x.shape[0], bool)


def _top_terms(x: Any, primary: np.ndarray, k: int, terms: np.ndarray, n: int = 8) -> list[list[str]]:
    """Each theme's most distinctive terms: class-based TF-IDF over the comments nearest to each theme.

    A term's weight in a theme is its TF-IDF mass there times log(1 + average theme mass / the term's mass in all
    themes): frequent in the theme and rare elsewhere ranks first, so 'keeps' and 'day' rarely name a theme.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    assigned = np.flatnonzero(primary >= 0)
    onehot = csr_matrix((np.ones(len(assigned)), (primary[assigned], assigned)), shape=(k, x.shape[0]))
    mass = np.asarray((onehot @ x).todense())
    overall = mass.sum(axis=0)
    weight = mass * np.log1p(mass.sum(axis=1, keepdims=True).mean() / np.maximum(overall, 1e-9))
    out = []
    for j in range(k):
        order = np.lexsort((terms, -weight[j]))[:n]
        out.append([str(terms[i]) for i in order if weight[j, i] > 0])
    return out


def _label_with_seeds(m: _Membership, texts: list[str], fb: FeedbackSettings) -> None:
    """Give a discovered theme a seed's name when most of its closest comments match the seed's keywords."""
    import numpy as np

    patterns = {name: re.compile(p) for name, words in fb.themes.items() if (p := keyword_pattern(words))}
    if not patterns:
        return
    best: list[tuple[str | None, float]] = []
    for j in range(len(m.names)):
        rows = np.flatnonzero(m.member[:, j])
        closest = rows[np.argsort(-m.closeness[rows, j], kind="stable")][:SEED_CHECK]
        shares = {s: sum(1 for i in closest if p.search(texts[i])) / max(len(closest), 1) for s, p in patterns.items()}
        seed = max(sorted(shares), key=lambda s: shares[s])
        best.append((seed, shares[seed]) if shares[seed] >= fb.theme_seed_match else (None, shares[seed]))
    labelled: dict[str, int] = {}
    for seed, _ in best:
        if seed:
            labelled[seed] = labelled.get(seed, 0) + 1
    for j, (seed, share) in enumerate(best):
        m.seed_match[j] = round(share, 4)
        if seed:
            m.seeds[j] = seed
            # one theme per seed takes the bare name; several share it with their top terms beside
            m.names[j] = seed if labelled[seed] == 1 else f"{seed}: {m.names[j]}"


# ---------------------------------------------------------------------------- keywords


def _keyword_membership(texts: list[str], themes: dict[str, list[str]]) -> _Membership:
    """Seed themes as the themes: a comment mentions a theme when it contains one of its keywords."""
    import numpy as np

    patterns = [(name, re.compile(p)) for name, words in themes.items() if (p := keyword_pattern(words))]
    member = np.zeros((len(texts), len(patterns)), dtype=bool)
    closeness = np.zeros((len(texts), len(patterns)), dtype=np.float32)
    for i, text in enumerate(texts):
        n_words = max(len(text.split()), 1)
        for j, (_, p) in enumerate(patterns):
            hits = len(p.findall(text))
            if hits:
                member[i, j] = True
                closeness[i, j] = min(hits / n_words, 1.0)
    primary = np.where(member.any(axis=1), closeness.argmax(axis=1), -1)
    names = [n for n, _ in patterns]
    return _Membership(
        names=names, terms=[list(themes[n][:TOP_TERMS]) for n in names], seeds=list(names),
        seed_match=[1.0] * len(names), member=member, closeness=closeness, primary=primary,
    )


# ------------------------------------------------------------------------------ answer


def _result(
    comments: list[Comment], m: _Membership, fb: FeedbackSettings, method: Literal["discovered", "keywords"],
    reason: str | None, extra: dict[str, Any],
) -> ThemeResult:
    import numpy as np

    side = np.array([c.side for c in comments]) if comments else np.array([], dtype=str)
    n_side = {s: int((side == s).sum()) for s in ("promoter", "passive", "detractor")}
    stats = []
    for j, name in enumerate(m.names):
        rows = m.member[:, j]
        counts = {s: int((rows & (side == s)).sum()) for s in n_side}
        stats.append((j, name, counts))
    tests = [_two_proportion(c["detractor"], n_side["detractor"], c["promoter"], n_side["promoter"])
             for _, _, c in stats]
    adjusted = _holm([p for _, p in tests])
    out = []
    for (j, name, c), (z, _), p_adj in zip(stats, tests, adjusted, strict=True):
        total = sum(c.values())
        if total == 0:
            continue
        sp, sd = _share(c["promoter"], n_side["promoter"]), _share(c["detractor"], n_side["detractor"])
        out.append(ThemeStat(
            theme=name, top_terms=m.terms[j], seed=m.seeds[j], seed_match=m.seed_match[j], mentions=total,
            promoter_mentions=c["promoter"], passive_mentions=c["passive"], detractor_mentions=c["detractor"],
            share_of_comments=_share(total, len(comments)), share_of_promoter_comments=sp,
            share_of_detractor_comments=sd,
            difference=None if sp is None or sd is None else round(sd - sp, 6),
            z=None if z is None else round(z, 3), p_value=None if p_adj is None else float(f"{p_adj:.3g}"),
            driver_of=_driver(c, sp, sd, p_adj, fb), examples=_quotes(comments, m, j, fb),
        ))
    out.sort(key=lambda t: (-t.mentions, t.theme))
    covered = m.member.any(axis=1) if m.member.shape[1] else np.zeros(len(comments), dtype=bool)
    other = {s: int((~covered & (side == s)).sum()) for s in n_side}
    coverage = ThemeCoverage(
        method=method, reason=reason, comments=len(comments), covered=int(covered.sum()),
        coverage=_share(int(covered.sum()), len(comments)), other=int((~covered).sum()),
        other_promoters=other["promoter"], other_passives=other["passive"], other_detractors=other["detractor"],
        **extra,
    )
    primary = [m.names[j] if j >= 0 else None for j in m.primary.tolist()]
    return ThemeResult(themes=out, coverage=coverage, primary=primary)


def _share(n: int, d: int) -> float | None:
    return None if d <= 0 else round(n / d, 6)


def _two_proportion(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """z and two-sided p of the difference x1/n1 - x2/n2 (pooled standard error)."""
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def _holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m - k + 1), kept monotone."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m, running = len(present), 0.0
    out: list[float | None] = [None] * len(p_values)
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def _driver(
    c: dict[str, int], sp: float | None, sd: float | None, p: float | None, fb: FeedbackSettings
) -> Literal["promoters", "detractors"] | None:
    if sp is None or sd is None or p is None or p > fb.theme_significance:
        return None
    if sd > sp and c["detractor"] >= fb.theme_min_mentions and sd >= fb.theme_driver_lift * sp:
        return "detractors"
    if sp > sd and c["promoter"] >= fb.theme_min_mentions and sp >= fb.theme_driver_lift * sd:
        return "promoters"
    return None


def _quotes(comments: list[Comment], m: _Membership, j: int, fb: FeedbackSettings) -> list[ThemeQuote]:
    """The comments closest to theme j among those whose nearest theme it is, those using a word of its name first,
    one per distinct text."""
    import numpy as np

    if fb.theme_examples == 0:
        return []
    rows = np.flatnonzero(m.primary == j)
    if not len(rows):
        rows = np.flatnonzero(m.member[:, j])
    lengths = np.array([len(comments[i].text) for i in rows])
    topical = m.on_topic[rows, j] if m.on_topic is not None else np.ones(len(rows), dtype=bool)
    order = rows[np.lexsort((rows, lengths, -m.closeness[rows, j], ~topical))]
    picked, seen = [], set()
    for i in order:
        c = comments[i]
        key = " ".join(_WORDS.findall(plain(c.text)))
        if key in seen:
            continue
        seen.add(key)
        picked.append(ThemeQuote(
            account_id=c.account_id, score=c.score, responded_at=c.responded_at,
            text=snippet(c.text, fb.example_chars) or "", similarity=round(float(m.closeness[i, j]), 4),
        ))
        if len(picked) == fb.theme_examples:
            break
    return picked
