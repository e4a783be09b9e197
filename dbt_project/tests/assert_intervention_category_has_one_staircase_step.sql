-- The seed must give every intervention category a single staircase step: fct_client_cost's grain
-- (client x intervention category x month) relies on it. Returns each category with several steps.

select
    intervention_category,
    count(distinct staircase_step) as staircase_steps
from {{ ref('activity_category_interventions') }}
group by intervention_category
having count(distinct staircase_step) > 1
