-- Status of every company at the end of each of the last 24 months, the current month being seen at the run's
-- reference date (domain.md §7, seed 004), with the status of the month before so a BI tool can show movements.

with

statuses as (

    select * from {{ ref('int_crm__account_status_history') }}

),

with_previous as (

    select
        *,
        lag(status) over (partition by client_id order by reference_date) as previous_status
    from statuses

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(month as date) as month,
        cast(reference_date as date) as reference_date,
        cast(status as string) as status,
        cast(previous_status as string) as previous_status,
        cast(coalesce(previous_status <> status, false) as boolean) as status_changed,
        cast(status_reason as string) as status_reason,
        cast(status_reason_en as string) as status_reason_en,
        cast(own_status as string) as own_status,
        cast(status_source_client_id as string) as status_source_client_id,
        cast(last_deal_activity_date as date) as last_deal_activity_date,
        cast(last_opportunity_activity_date as date) as last_opportunity_activity_date,
        cast(has_deal_in_progress as boolean) as has_deal_in_progress,
        cast(has_open_opportunity as boolean) as has_open_opportunity,
        cast(has_unknown_status as boolean) as has_unknown_status,
        cast(is_as_of_date as boolean) as is_as_of_date
    from with_previous

)

select * from final
