-- Leader-facing cost per client: one row per year x school district x intervention category, with
-- margins ('All'). Cells about fewer than 5 children are suppressed (clients, cost and cost per client
-- null, is_suppressed true), with complementary suppression along districts and interventions so that no
-- suppressed cell can be recovered from a row or column total (macro suppress_small_cells).

{{ suppress_small_cells(
    relation=ref('int_leader_cost_cells'),
    count_column='clients',
    value_columns=['clients', 'cost_dkk', 'cost_per_client_dkk'],
    group_sets=[['cost_year', 'school_district_name'], ['cost_year', 'intervention_category']],
    order_by='school_district_name, intervention_category',
    threshold=5,
    passes=4
) }}
