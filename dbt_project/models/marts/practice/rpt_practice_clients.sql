-- One row per practice client on the reference date (domain.md §6, level 3 of the dashboard): documents received
-- over the last 30 days, (as_of - 30 days, as_of], against the 30 days before, the inactivity rule, supplier
-- rules, automation, sending methods and regularity. The 30-day figures and the rule are read from
-- int_practice__client_days on the reference date, so they match fct_practice_daily on that day.

{%- set as_of = as_of_date() %}

with

client_days as (

    select * from {{ ref('int_practice__client_days') }}
    where day = {{ as_of }}

),

documents as (

    select * from {{ ref('int_practice__documents') }}
    where client_id is not null and received_date <= {{ as_of }}

),

supplier_rules as (

    select * from {{ ref('stg_practice__supplier_rules') }}

),

company_keys as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

clients as (

    select * from {{ ref('dim_clients') }}

),

client_rules as (

    -- keyed like the documents (int_practice__documents), unknown companies included
    select
        coalesce(company_keys.client_id, {{ crm_client_id('null', 'supplier_rules.company_id') }}) as client_id,
        supplier_rules.is_active,
        supplier_rules.created_date
    from supplier_rules
    left join company_keys using (company_id)

),

active_rules as (

    -- rules switched on, and already created on the reference date (a rule with no readable date counts)
    select client_id, count(*) as supplier_rules_count
    from client_rules
    where is_active and coalesce(created_date <= {{ as_of }}, true)
    group by client_id

),

last_30_days_per_method as (

    select client_id, sending_method, count(*) as documents
    from documents
    where received_date > {{ as_of }} - 30
    group by client_id, sending_method

),

sending_methods as (

    select
        client_id,
        -- the most used method; a tie goes to the first in alphabetical order
        min_by(sending_method, {{ vigie.row_of(['-documents', 'sending_method']) }}) as main_sending_method,
        {{ vigie.json_map_agg('sending_method', 'documents') }}
            as received_by_method_last_30d
    from last_30_days_per_method
    group by client_id

),

regularity as (

    -- the last 8 weeks as 8 blocks of 7 days ending on the reference date (block 0 = its last 7 days)
    select client_id, count(distinct week_block) as weeks_with_documents_last_8w
    from (
        select client_id, cast(floor({{ dbt.datediff('received_date', as_of, 'day') }} / 7) as bigint) as week_block
        from documents
        where received_date > {{ as_of }} - 56
    ) as blocks
    group by client_id

),

last_documents as (

    select client_id, max(received_date) as last_document_date
    from documents
    group by client_id

),

joined as (

    select
        client_days.*,
        clients.name as client_name,
        clients.collaborator_id,
        clients.office_id,
        clients.bookkeeping_by,
        clients.bookkeeping_frequency,
        coalesce(clients.is_deactivated, false) as is_deactivated,
        coalesce(active_rules.supplier_rules_count, 0) as supplier_rules_count,
        sending_methods.main_sending_method,
        coalesce(sending_methods.received_by_method_last_30d, cast('{}' as {{ vigie.type_json() }})) as received_by_method_last_30d,
        coalesce(regularity.weeks_with_documents_last_8w, 0) as weeks_with_documents_last_8w,
        last_documents.last_document_date
    from client_days
    left join clients using (client_id)
    left join active_rules using (client_id)
    left join sending_methods using (client_id)
    left join regularity using (client_id)
    left join last_documents using (client_id)

),

final as (

    select
        cast(client_id as string) as client_id,
        cast(client_name as string) as client_name,
        cast(collaborator_id as string) as collaborator_id,
        cast(office_id as string) as office_id,
        cast(bookkeeping_by as string) as bookkeeping_by,
        cast(bookkeeping_frequency as string) as bookkeeping_frequency,
        cast(is_deactivated as boolean) as is_deactivated,
        cast({{ as_of }} as date) as as_of_date,
        cast(documents_last_30d as bigint) as documents_last_30d,
        cast(documents_previous_30d as bigint) as documents_previous_30d,
        cast(
            case when documents_previous_30d > 0
                then round((documents_last_30d - documents_previous_30d) * 100.0 / documents_previous_30d, 1)
            end as decimal(7, 1)
        ) as documents_change_pct,
        cast(is_inactive as boolean) as is_inactive,
        cast(inactivity_reason as string) as inactivity_reason,
        cast(last_document_date as date) as last_document_date,
        cast({{ dbt.datediff('last_document_date', as_of, 'day') }} as bigint) as days_since_last_document,
        cast(main_sending_method as string) as main_sending_method,
        cast(received_by_method_last_30d as {{ vigie.type_json() }}) as received_by_method_last_30d,
        cast(weeks_with_documents_last_8w as bigint) as weeks_with_documents_last_8w,
        cast(documents_to_review as bigint) as documents_to_review,
        cast(documents_ready as bigint) as documents_ready,
        cast(documents_pending as bigint) as documents_pending,
        cast(supplier_rules_count as bigint) as supplier_rules_count,
        cast(documents_processed_last_30d as bigint) as documents_processed_last_30d,
        cast(documents_auto_processed_last_30d as bigint) as documents_auto_processed_last_30d,
        {{ share('documents_auto_processed_last_30d', 'documents_processed_last_30d') }} as auto_processed_share
    from joined

)

select * from final
