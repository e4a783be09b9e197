-- Unit test of macro suppress_small_cells on a fixed 2 x 2 table with margins (one year):
--            I1   I2   All
--     D1      3   10    13     -> D1/I1 primary (3 < 5); D1/I2 complementary (row D1);
--     D2     20   30    50        D2/I1 complementary (column I1); D2/I2 complementary (column I2)
--     All    23   40    63        ... every row and column must end with 0 or >= 2 suppressed cells.
-- The test fails when the macro leaves a row or column with exactly one suppressed cell, misses the
-- primary cell, or publishes a value of a suppressed cell.

with

result as (

    {{ suppress_small_cells(
        relation=ref('suppression_fixture'),
        count_column='clients',
        value_columns=['clients', 'cost_dkk'],
        group_sets=[['cost_year', 'school_district_name'], ['cost_year', 'intervention_category']],
        order_by='school_district_name, intervention_category'
    ) }}

),

singletons as (

    select 'row' as failure from result group by cost_year, school_district_name
    having sum(case when is_suppressed then 1 else 0 end) = 1
    union all
    select 'column' from result group by cost_year, intervention_category
    having sum(case when is_suppressed then 1 else 0 end) = 1

)

select failure from singletons
union all
select 'primary missed' from result
where school_district_name = 'D1' and intervention_category = 'I1' and not is_suppressed
union all
select 'value published' from result where is_suppressed and (clients is not null or cost_dkk is not null)
union all
select 'over-suppressed margin' from result
where school_district_name = 'All' and intervention_category = 'All' and is_suppressed
