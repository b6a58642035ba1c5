-- Status of every company at the run's reference date (domain.md §7, seed 004): the reference-date row of
-- int_crm__account_status_history, where the rules are written, with the account's type and parent.

with

clients as (

    select * from {{ ref('dim_clients') }}

),

statuses as (

    select * from {{ ref('int_crm__account_status_history') }}
    where is_as_of_date

),

final as (

    select
        cast(clients.client_id as string) as client_id,
        cast({{ as_of_date() }} as date) as as_of_date,
        cast(statuses.status as string) as status,
        cast(statuses.status_reason as string) as status_reason,
        cast(statuses.last_deal_activity_date as date) as last_deal_activity_date,
        cast(statuses.last_opportunity_activity_date as date) as last_opportunity_activity_date,
        cast(statuses.status_reason_en as string) as status_reason_en,
        cast(clients.account_category as string) as account_category,
        cast(clients.account_type as string) as account_type,
        cast(clients.parent_client_id as string) as parent_client_id,
        cast(statuses.own_status as string) as own_status,
        cast(statuses.status_source_client_id as string) as status_source_client_id,
        cast(statuses.has_deal_in_progress as boolean) as has_deal_in_progress,
        cast(statuses.has_open_opportunity as boolean) as has_open_opportunity,
        cast(statuses.has_unknown_status as boolean) as has_unknown_status,
        cast(statuses.created_date as date) as created_date
    from clients
    left join statuses on clients.client_id = statuses.client_id

)

select * from final
