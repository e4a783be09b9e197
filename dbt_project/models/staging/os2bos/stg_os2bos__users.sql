with

source as (

    {{ dedupe_latest_load(source('os2bos', 'core_user'), 'id', unique_in_raw=true) }}

),

renamed as (

    select
        id                            as user_id,
        username,
        team_id,
        {{ nullif_blank('profile') }} as user_profile,
        is_superuser,
        is_staff,
        is_active,
        last_login                    as last_login_at,
        date_joined                   as joined_at
    from source

)

select * from renamed
