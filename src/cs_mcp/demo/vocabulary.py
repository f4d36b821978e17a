"""Word lists and phrasings the demo generator draws names, catalogues and comments from."""

from __future__ import annotations

SEGMENTS = ("enterprise", "mid-market", "smb")
PLANS = ("starter", "professional", "enterprise")
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
INDUSTRIES = (
    "Software", "Financial Services", "Healthcare", "Retail", "Manufacturing", "Education",
    "Media", "Logistics", "Professional Services", "Telecommunications", "Public Sector", "Energy",
)
CSM_TEAMS = ("Enterprise", "Mid-Market", "SMB")

FEATURES = (
    "dashboards", "reports", "alerts", "integrations", "api",
    "workflows", "mobile_app", "sso", "advanced_analytics", "ai_assistant",
)

# (product_id, name, category, list price per seat per year); the first is the core platform.
PRODUCTS = (
    ("P01", "Platform", "platform", 250.0),
    ("P02", "Advanced Analytics", "analytics", 45.0),
    ("P03", "Integration Hub", "integrations", 30.0),
    ("P04", "Premium Support", "services", 25.0),
    ("P05", "AI Assistant", "ai", 60.0),
    ("P06", "Data Warehouse Sync", "data", 35.0),
)

TICKET_CATEGORIES = (
    "bug", "how-to", "performance", "billing", "integration", "feature request", "account access",
)
PRIORITIES = ("low", "medium", "high", "critical")
TOUCH_TYPES = ("call", "email", "meeting", "training", "event", "qbr", "ebr")
OUTCOMES = ("responded", "no_response", "completed", "no_show")
CONTACT_ROLES = ("champion", "executive_sponsor", "decision_maker", "admin", "user")
DEPARTMENTS = (
    "Executive", "Operations", "IT", "Engineering", "Finance", "Sales", "Marketing",
    "Customer Support", "HR", "Procurement",
)
OPPORTUNITY_TYPES = ("renewal", "upsell", "cross-sell", "downgrade")
STAGES = ("Discovery", "Proposal", "Negotiation", "Closed Won", "Closed Lost")
"""Open stages by how near the close date is, then the two closed ones (renewal.won_stages / lost_stages)."""
S_WON, S_LOST = 3, 4

NAME_PREFIXES = (
    "Blue", "Red", "Green", "Silver", "Gold", "Iron", "North", "South", "East", "West", "Bright",
    "Clear", "Swift", "True", "Prime", "Nova", "Terra", "Aqua", "Sky", "Star", "Sun", "Moon",
    "Stone", "River", "Lake", "Pine", "Oak", "Maple", "Cedar", "Summit", "Peak", "Alpha", "Beta",
    "Delta", "Omni", "Poly", "Meta", "Hyper", "Ultra", "Quantum", "Vertex", "Apex", "Core", "Zen",
    "Bold", "Rapid", "Smart", "Blueprint", "Harbor", "Atlas", "Echo", "Vivid", "Lumen", "Solar",
    "Crystal", "Falcon", "Eagle", "Fox", "Wolf", "Bear", "Lion", "Orbit", "Pixel", "Signal",
    "Vector", "Cobalt", "Crimson", "Indigo", "Amber", "Jade", "Onyx", "Granite", "Copper", "Frost",
    "Ember", "Storm", "Cloud", "Rain", "Wind", "Tide",
)
NAME_ROOTS = (
    "wave", "point", "line", "bridge", "works", "field", "gate", "stone", "path", "forge", "bay",
    "ridge", "view", "light", "shift", "scale", "stack", "loop", "mark", "core", "base", "hub",
    "port", "spring", "brook", "wood", "land", "crest", "star", "leaf", "rock", "vale", "mill",
    "well", "haven", "cast", "sync", "grid", "flow", "craft", "wise", "logic", "sense", "mind",
    "beam", "spark", "pulse", "track", "trail", "nest", "wing", "root", "tree", "dale", "ford",
    "shore", "peak", "mount", "sail", "dock", "tower", "yard", "bloom", "fire", "cove", "glen",
    "harbor", "isle", "keep", "lane", "moor", "quay", "reach", "rise", "sound", "strand", "tech",
    "ware", "pilot", "metrics",
)
NAME_SUFFIXES = (
    "Inc", "Labs", "Systems", "Group", "Corp", "Technologies", "Solutions", "Partners", "Holdings",
    "Industries", "Health", "Logistics", "Media", "Analytics", "Networks", "Foods",
)
FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley",
    "Wei", "Priya", "Arjun", "Mei", "Hiroshi", "Yuki", "Ahmed", "Fatima", "Lucas", "Sofia",
    "Mateo", "Valentina", "Liam", "Emma", "Noah", "Olivia", "Elena", "Marco", "Lena", "Jonas",
    "Chloe", "Hugo", "Ingrid", "Lars", "Amara", "Kwame", "Aisha", "Omar", "Nadia", "Raj",
    "Ana", "Diego",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Walker", "Young", "Allen", "Chen", "Wang", "Kim", "Patel", "Singh", "Nguyen", "Tanaka",
    "Sato", "Muller", "Schmidt", "Rossi", "Bianchi", "Dubois", "Laurent", "Silva", "Santos",
    "Kowalski", "Novak", "Jensen", "Larsen", "Okafor", "Mensah", "Haddad", "Khan", "Ivanova",
    "Costa", "Fischer", "Weber", "Murphy", "Kelly",
)

# Negative themes; each account has one "pain" theme that shows in its tickets and comments.
PAIN_THEMES = ("performance", "pricing", "support", "missing_features", "reliability", "usability")
NEGATIVE_COMMENTS: dict[str, tuple[str, ...]] = {
    "performance": (
        "The app has become really slow, dashboards take forever to load.",
        "Performance issues every week, pages time out.",
        "Too slow for our team, load times are painful.",
        "Reports lag and the system freezes during peak hours.",
    ),
    "pricing": (
        "Too expensive for what we actually use.",
        "The price increase at renewal is hard to justify.",
        "Per-seat pricing does not work for us, the cost keeps going up.",
        "We pay for seats nobody uses; the cost is too high.",
    ),
    "support": (
        "Support takes days to respond to our tickets.",
        "Slow support response, we had to escalate twice.",
        "Tickets sit open for weeks without an answer from support.",
        "Support response times have gotten much worse.",
    ),
    "missing_features": (
        "Missing basic features we need, still waiting on the roadmap.",
        "A key feature is missing: no proper permissions model.",
        "Our feature requests go nowhere.",
        "Lacks the customization our workflows need, features are missing.",
    ),
    "reliability": (
        "Too many bugs after every release.",
        "Outages and sync errors keep breaking our workflows.",
        "Data export fails randomly, very buggy.",
        "Unreliable: bugs made us lose work twice this quarter.",
    ),
    "usability": (
        "Hard to use, our team finds the interface confusing.",
        "Onboarding was painful and the interface is confusing.",
        "Too complicated for occasional users, hard to use.",
        "The UI is cluttered and hard to navigate.",
    ),
}
PRAISE_THEMES = ("reporting", "ease_of_use", "support_team", "integrations", "dashboards", "automation")
POSITIVE_COMMENTS: dict[str, tuple[str, ...]] = {
    "reporting": (
        "Reporting is excellent, leadership loves the weekly reports.",
        "Great reporting, it saves us hours every month.",
        "The custom reports are the best part of the product.",
        "Reporting made our quarterly reviews so much easier.",
    ),
    "ease_of_use": (
        "Easy to use, the team adopted it in days.",
        "Intuitive and simple, very little training needed.",
        "Clean interface and easy to use for everyone.",
        "So easy to use that even occasional users love it.",
    ),
    "support_team": (
        "The support team is fast and helpful.",
        "Our CSM is fantastic and support is very responsive.",
        "Great support, every ticket answered within hours.",
        "Helpful support team that really knows the product.",
    ),
    "integrations": (
        "Integrations with our CRM work flawlessly.",
        "The API and integrations saved us a lot of manual work.",
        "Great integrations, everything syncs with our stack.",
        "Integrating with our data warehouse was painless.",
    ),
    "dashboards": (
        "Dashboards give us real-time visibility across teams.",
        "Love the dashboards, everyone sees the same numbers.",
        "The dashboards are clear and beautiful.",
        "Dashboards replaced three spreadsheets for us.",
    ),
    "automation": (
        "Workflow automation saves us hours every week.",
        "Automations removed a lot of manual work.",
        "The workflow builder is powerful and saves time.",
        "Alerts and automations keep our team on top of things.",
    ),
}
PASSIVE_COMMENTS: dict[str, tuple[str, ...]] = {
    "performance": ("Good product overall, but it can be slow at times.",
                    "Does the job, though performance could be better."),
    "pricing": ("Works well, but pricing is getting steep.",
                "Useful tool, a bit expensive for a team our size."),
    "support": ("Solid product; support could respond faster.",
                "Fine overall, support response is hit and miss."),
    "missing_features": ("Solid tool, a few features are still missing.",
                         "Good, but we need more features on the roadmap."),
    "reliability": ("Mostly reliable, occasional bugs.",
                    "Works, but we still see bugs now and then."),
    "usability": ("Useful once you learn it, but not easy to use at first.",
                  "Reporting is good but the interface is clunky."),
}
