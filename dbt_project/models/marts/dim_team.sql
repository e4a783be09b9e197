-- Teams: one row per OS2bos team, with its leader and the number of caseworkers in it now.

with

teams as (

    select * from {{ ref('stg_os2bos__teams') }}

),

users as (

    select * from {{ ref('stg_os2bos__users') }}

),

members as (

    select team_id, count(*) as caseworker_count
    from users
    group by team_id

),

final as (

    select
        teams.team_id,
        teams.team_name,
        teams.leader_user_id,
        leaders.username                                       as leader_username,
        cast(coalesce(members.caseworker_count, 0) as {{ dbt.type_bigint() }}) as caseworker_count,
        teams.is_active
    from teams
    left join users as leaders
        on teams.leader_user_id = leaders.user_id
    left join members
        on teams.team_id = members.team_id

)

select * from final
