"""The demo's sales seasons: how much more or less each product line sells in a month, per region.

A forecast is only worth testing on history that has a season to find, so the demo's order
book has one, different per product line and region (the factor multiplies the quantity
an order would have had, rounded at random and at least 1; its average over a year is about
1, so yearly totals stay):

- equipment (``设备``) sells most in December, when budgets must be spent, and least in
  June: 1.45× and 0.55×;
- consumables (``耗材``) peak with the school terms, March and September (±25%);
- paper (``纸张``) peaks in September, when offices and schools restock (±35%);
- service (``服务``) is nearly flat, a little higher in the humid summer (±10%);
- every line dips in February, the Spring Festival month, by 45% in the north and east
  and 20% in the south (福建省, 广东省), where the south's peaks also come a month earlier.
"""

from __future__ import annotations

import math
from datetime import date

#: Product → product line, for every product the demo sells.
PRODUCT_LINES = {
    "墨盒 HP 803 黑色": "耗材",
    "墨盒 Canon PG-845": "耗材",
    "硒鼓 HP CF228A": "耗材",
    "硒鼓 Brother TN-2325": "耗材",
    "彩色激光打印机 HP M255dw": "设备",
    "黑白激光打印机 Brother HL-2260D": "设备",
    "数码复印机 Canon iR2625": "设备",
    "多功能一体机 Epson L6279": "设备",
    "A4复印纸 70g 5包": "纸张",
    "上门维修服务": "服务",
}
#: Provinces whose season runs a month early and whose Spring-Festival dip is mild.
SOUTH = frozenset({"福建省", "广东省"})
#: Product line → (peak month, amplitude, peaks per year).
_SHAPES = {"设备": (12, 0.45, 1), "耗材": (3, 0.25, 2), "纸张": (9, 0.35, 1), "服务": (7, 0.10, 1)}
_FESTIVAL_DIP = {True: 0.20, False: 0.45}  # south?


def season_factor(day: date, province: str, product: str) -> float:
    """How many times the usual quantity an order of ``product`` in ``province`` has on ``day``."""
    peak, amplitude, per_year = _SHAPES[PRODUCT_LINES[product]]
    south = province in SOUTH
    shift = (day.month - peak + (1 if south else 0)) * per_year
    factor = 1 + amplitude * math.cos(2 * math.pi * shift / 12)
    if day.month == 2:
        factor *= 1 - _FESTIVAL_DIP[south]
    return factor
