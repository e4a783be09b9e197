-- Municipalities: one row per OS2bos municipality, with its code (kommunekode) from seed `municipalities`
-- (linked by name), country and jurisdiction (whose deadline rules apply).

with

os2bos as (

    select * from {{ ref('stg_os2bos__municipalities') }}

),

register as (

    select * from {{ ref('municipalities') }}

),

final as (

    select
        os2bos.municipality_id,
        coalesce(register.municipality_code, {{ dbt.concat(["'os2bos-'", dbt.cast('os2bos.municipality_id', api.Column.translate_type('string'))]) }}) as municipality_code,
        os2bos.municipality_name,
        coalesce(register.country_code, 'DK')   as country_code,
        coalesce(register.jurisdiction, 'DK')   as jurisdiction,
        register.municipality_code is not null  as is_in_register,
        os2bos.is_active
    from os2bos
    left join register
        on os2bos.municipality_name = register.municipality_name

)

select * from final
