"""How the demo's customers first came to the business: an acquisition channel per customer.

Channels convert differently, as they do in a real sales team: a customer introduced by
an existing one nearly always buys, a trade-fair contact often does, a cold telemarketing
lead or a website enquiry much less often. The demo decides first who ever orders (the
activity simulation), then draws each customer's channel from the mix of buyers or of
prospects below. In ``marts.lead_funnel`` of the 2,000-customer demo (seed 7) that
gives referral 97%, field sales 93%, trade fair 88%, website 81% and telemarketing 68%.

The dealers and the regional offices record the channel on their customer rows
(``获客渠道`` / ``客户来源``); the key-account workbook does not.
"""

from __future__ import annotations

import random

#: Channel → (weight among buyers, weight among prospects that never buy).
CHANNEL_MIX = {
    "老客户介绍": (30, 3),
    "地推": (25, 12),
    "展会": (20, 20),
    "官网": (15, 27),
    "电话营销": (10, 38),
}


def draw_channels(customer_ids: list[str], buyers: set[str], rng: random.Random) -> dict[str, str]:
    """Customer → channel, drawn in ``customer_ids`` order from the buyers' or prospects' mix."""
    names = list(CHANNEL_MIX)
    bought = [w for w, _ in CHANNEL_MIX.values()]
    never = [w for _, w in CHANNEL_MIX.values()]
    return {
        c: rng.choices(names, weights=bought if c in buyers else never)[0] for c in customer_ids
    }
