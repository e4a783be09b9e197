with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_team'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id        as team_id,
        name      as team_name,
        leader_id as leader_user_id,
        active    as is_active
    from source

)

select * from renamed
