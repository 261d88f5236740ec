"""The serving index is published after every asset whose table it reads, in any selection."""

from assets.publish import serving_index
from warehouse.serving import SERVING_INPUTS


def test_the_serving_index_comes_after_every_table_it_reads():
    upstream = {".".join(key.path) for key in serving_index.dependency_keys}
    # the customer IDs are a part table of the xref asset, which is upstream
    assert set(SERVING_INPUTS) - upstream == {"master.customer_ids"}
    assert "master.customer_xref" in upstream
