-- Caseworkers: one row per OS2bos user, with the team they belong to now (OS2bos keeps no team history).
-- No names, e-mail or password are loaded; the username is the only handle.

with

users as (

    select * from {{ ref('stg_os2bos__users') }}

),

teams as (

    select * from {{ ref('stg_os2bos__teams') }}

),

final as (

    select
        users.user_id                                          as case_worker_user_id,
        users.username,
        users.team_id,
        coalesce(teams.team_name, 'No team')                   as team_name,
        users.user_profile,
        users.is_active,
        cast(users.joined_at as date)                          as joined_date
    from users
    left join teams
        on users.team_id = teams.team_id

)

select * from final
