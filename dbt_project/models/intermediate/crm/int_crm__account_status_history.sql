{#- How many months of statuses each account gets: the run's reference date, and the ends of the months before
    it (24 in all by default; the unit tests ask for fewer). -#}
{%- set history_months = var('account_status_history_months', 24) -%}

-- Status of every account at each reference date (domain.md §7, seed 004), first match wins:
--   actif     a deal running at the reference date, or ended within the last 3 months;
--   prospect  an opportunity open at the reference date or closed within the last 3 months, or an account
--             created within the last 3 months;
--   delaisse  a deal or opportunity whose last activity falls 3 to 6 months back, or, with neither, an account
--             created 3 to 6 months back;
--   inactif   everything else.
-- "Within the last 3 months" means on or after reference date - interval 3 month (DuckDB calendar arithmetic: a
-- day missing from the target month becomes its last day, 2026-05-31 - 3 months = 2026-02-28); a date exactly 3
-- months back is still recent, one exactly 6 months back still falls in the 3-to-6-month window.
-- A parent (group) account takes the best status among its own and its subsidiaries' (any depth), and its reason
-- names the subsidiary that gave it.

with

accounts as (

    select client_id, company_name, created_date from {{ ref('int_crm__accounts') }}

),

hierarchy as (

    select * from {{ ref('int_crm__account_hierarchy') }}

),

deal_periods as (

    select * from {{ ref('int_crm__deal_periods') }}

),

opportunity_periods as (

    select * from {{ ref('int_crm__opportunity_periods') }}

),

reference_dates as (

    -- the run's reference date stands for its month; the months before are seen at their last day
    select
        cast(date_trunc('month', {{ as_of_date() }}) as date) as month,
        cast({{ as_of_date() }} as date) as reference_date

    union all

    select
        cast(date_trunc('month', month_end) as date) as month,
        month_end as reference_date
    from (
        select last_day(cast({{ dbt.dateadd('month', '-months_ago.months_back', as_of_date()) }} as date)) as month_end
        from range(1, {{ history_months }}) as months_ago (months_back)
    ) as previous_month_ends

),

windows as (

    select
        month,
        reference_date,
        cast(reference_date - interval 3 month as date) as recent_from,
        cast(reference_date - interval 6 month as date) as lapsing_from
    from reference_dates

),

account_dates as (

    -- an account has a status from its creation on, and always at the run's reference date
    select accounts.client_id, accounts.created_date, windows.*
    from accounts
    cross join windows
    where
        accounts.created_date is null
        or accounts.created_date <= windows.reference_date
        or windows.reference_date = {{ as_of_date() }}

),

activities as (

    select
        client_id,
        'deal' as activity_kind,
        deal_id as activity_id,
        deal_name as activity_name,
        status,
        is_known_status,
        worked_from as started_on,
        worked_until as ended_on
    from deal_periods
    where client_id is not null

    union all

    select
        client_id,
        'opportunity' as activity_kind,
        opportunity_id as activity_id,
        opportunity_name as activity_name,
        status,
        is_known_status,
        opened_on as started_on,
        closed_on as ended_on
    from opportunity_periods
    where client_id is not null

),

activities_at_dates as (

    -- each deal or opportunity begun by the reference date, running then or ended; its last activity is the
    -- reference date while it runs, else its end
    select
        account_dates.client_id,
        account_dates.reference_date,
        activities.activity_kind,
        activities.activity_id,
        activities.activity_name,
        activities.status,
        activities.is_known_status,
        activities.started_on,
        coalesce(activities.ended_on > account_dates.reference_date, true) as is_running,
        case
            when coalesce(activities.ended_on > account_dates.reference_date, true) then account_dates.reference_date
            else activities.ended_on
        end as activity_date
    from account_dates
    inner join activities
        on
            account_dates.client_id = activities.client_id
            and coalesce(account_dates.reference_date >= activities.started_on, true)

),

activity_summary as (

    select
        client_id,
        reference_date,
        max(activity_date) filter (where activity_kind = 'deal') as last_deal_activity_date,
        max(activity_date) filter (where activity_kind = 'opportunity') as last_opportunity_activity_date,
        coalesce(bool_or(is_running) filter (where activity_kind = 'deal'), false) as has_deal_in_progress,
        coalesce(bool_or(is_running) filter (where activity_kind = 'opportunity'), false) as has_open_opportunity,
        bool_or(not is_known_status) as has_unknown_status
    from activities_at_dates
    group by client_id, reference_date

),

own_statuses as (

    select
        account_dates.*,
        activity_summary.last_deal_activity_date,
        activity_summary.last_opportunity_activity_date,
        coalesce(activity_summary.has_deal_in_progress, false) as has_deal_in_progress,
        coalesce(activity_summary.has_open_opportunity, false) as has_open_opportunity,
        coalesce(activity_summary.has_unknown_status, false) as has_unknown_status,
        case
            when activity_summary.last_deal_activity_date >= account_dates.recent_from then 'actif'
            when
                activity_summary.last_opportunity_activity_date >= account_dates.recent_from
                or account_dates.created_date >= account_dates.recent_from
                then 'prospect'
            when
                greatest(activity_summary.last_deal_activity_date, activity_summary.last_opportunity_activity_date)
                >= account_dates.lapsing_from
                then 'delaisse'
            when
                activity_summary.client_id is null
                and account_dates.created_date >= account_dates.lapsing_from
                then 'delaisse'
            else 'inactif'
        end as own_status
    from account_dates
    left join activity_summary
        on
            account_dates.client_id = activity_summary.client_id
            and account_dates.reference_date = activity_summary.reference_date

),

reason_activities as (

    -- the deal or opportunity the reason names: one of those that gave the status, running ones first, then
    -- the latest activity, a deal before an opportunity of the same day
    select {{ vigie.star_except(['_rank']) }}
    from (
        select
            activities_at_dates.*,
            row_number() over (
                partition by activities_at_dates.client_id, activities_at_dates.reference_date
                order by
                    activities_at_dates.is_running desc,
                    activities_at_dates.activity_date desc,
                    activities_at_dates.activity_kind asc,
                    activities_at_dates.started_on desc nulls last,
                    activities_at_dates.activity_id asc
            ) as _rank
        from activities_at_dates
        inner join own_statuses
            on
                activities_at_dates.client_id = own_statuses.client_id
                and activities_at_dates.reference_date = own_statuses.reference_date
        where
            case own_statuses.own_status
                when 'actif' then
                    activities_at_dates.activity_kind = 'deal'
                    and activities_at_dates.activity_date >= own_statuses.recent_from
                when 'prospect' then
                    activities_at_dates.activity_kind = 'opportunity'
                    and activities_at_dates.activity_date >= own_statuses.recent_from
                when 'delaisse' then activities_at_dates.activity_date >= own_statuses.lapsing_from
                else true
            end
    ) as ranked
    where _rank = 1

),

reason_facts as (

    -- the named fact, in French and English: "affaire « Bilan 2025 » terminée le 2026-09-30"
    select
        client_id,
        reference_date,
        activity_date,
        case activity_kind
            when 'deal' then 'affaire « ' || coalesce(activity_name, 'n° ' || activity_id, 'sans nom') || ' »'
            else 'opportunité « ' || coalesce(activity_name, 'n° ' || activity_id, 'sans nom') || ' »'
        end
        || case
            when is_known_status then ''
            else coalesce(' (statut inconnu « ' || status || ' »)', ' (sans statut)')
        end
        || case
            when is_running then ' en cours' || coalesce(' depuis le ' || cast(started_on as string), '')
            when activity_kind = 'deal' then ' terminée le ' || cast(activity_date as string)
            when status = 'won' then ' gagnée le ' || cast(activity_date as string)
            when status = 'lost' then ' perdue le ' || cast(activity_date as string)
            when status = 'cancelled' then ' annulée le ' || cast(activity_date as string)
            else ' close le ' || cast(activity_date as string)
        end as fact_fr,
        case activity_kind
            when 'deal' then 'deal ''' || coalesce(activity_name, 'no. ' || activity_id, 'unnamed') || ''''
            else 'opportunity ''' || coalesce(activity_name, 'no. ' || activity_id, 'unnamed') || ''''
        end
        || case
            when is_known_status then ''
            else coalesce(' (unknown status ''' || status || ''')', ' (no status)')
        end
        || case
            when is_running then ' in progress' || coalesce(' since ' || cast(started_on as string), '')
            when activity_kind = 'deal' then ' ended on ' || cast(activity_date as string)
            when status = 'won' then ' won on ' || cast(activity_date as string)
            when status = 'lost' then ' lost on ' || cast(activity_date as string)
            when status = 'cancelled' then ' cancelled on ' || cast(activity_date as string)
            else ' closed on ' || cast(activity_date as string)
        end as fact_en
    from reason_activities

),

own_reasons as (

    select
        own_statuses.*,
        case own_statuses.own_status when 'actif' then 1 when 'prospect' then 2 when 'delaisse' then 3 else 4 end
            as status_rank,
        coalesce(reason_facts.activity_date, own_statuses.created_date) as reason_date,
        case
            when reason_facts.fact_fr is null then
                case own_statuses.own_status
                    when 'prospect' then 'créé le ' || cast(own_statuses.created_date as string)
                        || ', il y a 3 mois ou moins'
                    when 'delaisse' then 'créé le ' || cast(own_statuses.created_date as string)
                        || ', il y a 3 à 6 mois, sans affaire ni opportunité'
                    else coalesce(
                        'créé le ' || cast(own_statuses.created_date as string)
                        || ', il y a plus de 6 mois, sans affaire ni opportunité',
                        'sans affaire ni opportunité, date de création inconnue'
                    )
                end
            when own_statuses.own_status = 'delaisse' then 'dernière activité il y a 3 à 6 mois : ' || reason_facts.fact_fr
            when own_statuses.own_status = 'inactif' then 'dernière activité il y a plus de 6 mois : ' || reason_facts.fact_fr
            else reason_facts.fact_fr
        end as status_reason,
        case
            when reason_facts.fact_en is null then
                case own_statuses.own_status
                    when 'prospect' then 'created on ' || cast(own_statuses.created_date as string)
                        || ', 3 months ago or less'
                    when 'delaisse' then 'created on ' || cast(own_statuses.created_date as string)
                        || ', 3 to 6 months ago, with no deal nor opportunity'
                    else coalesce(
                        'created on ' || cast(own_statuses.created_date as string)
                        || ', more than 6 months ago, with no deal nor opportunity',
                        'no deal nor opportunity, creation date unknown'
                    )
                end
            when own_statuses.own_status = 'delaisse' then 'last activity 3 to 6 months ago: ' || reason_facts.fact_en
            when own_statuses.own_status = 'inactif' then 'last activity more than 6 months ago: ' || reason_facts.fact_en
            else reason_facts.fact_en
        end as status_reason_en
    from own_statuses
    left join reason_facts
        on
            own_statuses.client_id = reason_facts.client_id
            and own_statuses.reference_date = reason_facts.reference_date

),

perimeters as (

    -- the accounts whose facts make an account's status: itself and, for a parent account, its subsidiaries
    select client_id as account_client_id, client_id as member_client_id from accounts
    union all
    select ancestor_client_id as account_client_id, descendant_client_id as member_client_id from hierarchy

),

candidates as (

    -- a subsidiary counts from its own creation on: it has no row at a date before it
    select
        perimeters.account_client_id,
        account_rows.month,
        account_rows.reference_date,
        account_rows.created_date as account_created_date,
        account_rows.own_status as account_own_status,
        perimeters.member_client_id = perimeters.account_client_id as is_self,
        member_rows.client_id as member_client_id,
        member_rows.own_status,
        member_rows.status_rank,
        member_rows.reason_date,
        member_rows.status_reason,
        member_rows.status_reason_en,
        member_rows.last_deal_activity_date,
        member_rows.last_opportunity_activity_date,
        member_rows.has_deal_in_progress,
        member_rows.has_open_opportunity,
        member_rows.has_unknown_status
    from own_reasons as account_rows
    inner join perimeters on account_rows.client_id = perimeters.account_client_id
    inner join own_reasons as member_rows
        on
            perimeters.member_client_id = member_rows.client_id
            and account_rows.reference_date = member_rows.reference_date

),

perimeter_facts as (

    select
        account_client_id,
        reference_date,
        max(last_deal_activity_date) as last_deal_activity_date,
        max(last_opportunity_activity_date) as last_opportunity_activity_date,
        bool_or(has_deal_in_progress) as has_deal_in_progress,
        bool_or(has_open_opportunity) as has_open_opportunity,
        bool_or(has_unknown_status) as has_unknown_status
    from candidates
    group by account_client_id, reference_date

),

best_candidates as (

    -- the best status; on a tie the account's own facts, then the subsidiary with the latest fact
    select {{ vigie.star_except(['_rank']) }}
    from (
        select
            *,
            row_number() over (
                partition by account_client_id, reference_date
                order by status_rank asc, is_self desc, reason_date desc nulls last, member_client_id asc
            ) as _rank
        from candidates
    ) as ranked
    where _rank = 1

),

final as (

    select
        best_candidates.account_client_id as client_id,
        best_candidates.month,
        best_candidates.reference_date,
        best_candidates.own_status as status,
        case
            when best_candidates.is_self then best_candidates.status_reason
            else 'filiale « ' || coalesce(members.company_name, members.client_id) || ' » : '
                || best_candidates.status_reason
        end as status_reason,
        case
            when best_candidates.is_self then best_candidates.status_reason_en
            else 'subsidiary ''' || coalesce(members.company_name, members.client_id) || ''': '
                || best_candidates.status_reason_en
        end as status_reason_en,
        best_candidates.account_own_status as own_status,
        best_candidates.member_client_id as status_source_client_id,
        perimeter_facts.last_deal_activity_date,
        perimeter_facts.last_opportunity_activity_date,
        perimeter_facts.has_deal_in_progress,
        perimeter_facts.has_open_opportunity,
        perimeter_facts.has_unknown_status,
        best_candidates.account_created_date as created_date,
        best_candidates.reference_date = {{ as_of_date() }} as is_as_of_date
    from best_candidates
    inner join perimeter_facts
        on
            best_candidates.account_client_id = perimeter_facts.account_client_id
            and best_candidates.reference_date = perimeter_facts.reference_date
    inner join accounts as members on best_candidates.member_client_id = members.client_id

)

select * from final
