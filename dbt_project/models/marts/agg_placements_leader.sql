-- Leader-facing placement mix: children placed at each year's end (last month end) by school district x
-- placement group, with margins ('All'). Cells about fewer than 5 children are suppressed, with
-- complementary suppression along districts and placement groups (macro suppress_small_cells).

{{ suppress_small_cells(
    relation=ref('int_leader_placement_cells'),
    count_column='children_placed',
    value_columns=['children_placed'],
    group_sets=[['stock_year', 'school_district_name'], ['stock_year', 'placement_group']],
    order_by='school_district_name, placement_group',
    threshold=5,
    passes=4
) }}
