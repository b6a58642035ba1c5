-- Each time entry matched to the firm's collaborator, the deal it was booked on and the client (contract §2:
-- collaborators by e-mail or name, clients by name or SIREN; domain.md §5). Nothing is dropped: an entry that
-- matches nothing keeps empty ids and a reason code, and rpt_unmatched_records lists it.
--   collaborator: e-mail (case-insensitive), else normalised name; a key shared by two collaborators matches none.
--   client:       normalised client name = CRM company name, else the client column read as a SIREN.
--   deal, first that applies:
--     1 project_code        Harvest's Project Code is the deal id;
--     2 client_project_name the client's deal whose name is the project name;
--     3 project_name        client unknown: the only deal of the firm with that name;
--     4 mission_code        the project code is the mission code of one of the client's deals.
--   When a client has several deals of the same name or mission (a yearly mission), the deal whose dates are
--   nearest the entry's date wins (0 days when inside), then the smallest deal id.
-- Names are compared normalised: lower case, ligatures spelt out, accents removed, every run of characters that
-- are neither letters nor digits read as one space ("Crêperie  Henry" = "creperie henry" = "CREPERIE-HENRY").

with

entries as (

    select
        *,
        _source_file || ':' || _line_number as time_entry_key,
        lower(user_email) as user_email_key,
        {{ name_key('user_name') }} as user_name_key,
        {{ name_key('client_name') }} as client_name_key,
        {{ normalise_siren('client_name') }} as client_siren,
        {{ name_key('project_name') }} as project_name_key,
        lower(project_code) as project_code_key
    from {{ ref('stg_timetracking__time_entries') }}

),

collaborators as (

    -- a collaborator listed twice keeps the first line (staging)
    select
        collaborator_id,
        lower(email) as email_key,
        {{ name_key('collaborator_name') }} as name_key,
        hourly_cost
    from {{ ref('stg_practice__collaborators') }}
    where collaborator_id is not null

),

collaborator_emails as (

    select email_key, min(collaborator_id) as collaborator_id, count(*) as collaborator_count
    from collaborators
    where email_key is not null
    group by email_key

),

collaborator_names as (

    select name_key, min(collaborator_id) as collaborator_id, count(*) as collaborator_count
    from collaborators
    where name_key is not null
    group by name_key

),

company_clients as (

    select key_value as company_id, client_id
    from {{ ref('int_clients__keys') }}
    where key_source = 'crm_company'

),

client_names as (

    select
        {{ name_key('companies.company_name') }} as client_name_key,
        min(company_clients.client_id) as client_id,
        count(distinct company_clients.client_id) as client_count
    from {{ ref('stg_crm__companies') }} as companies
    inner join company_clients using (company_id)
    where companies.company_name is not null
    group by client_name_key

),

client_sirens as (

    select siren, min(client_id) as client_id, count(distinct client_id) as client_count
    from {{ ref('int_clients__keys') }}
    where siren is not null
    group by siren

),

entries_with_client as (

    select
        entries.time_entry_key,
        entries.entry_date,
        entries.project_name_key,
        entries.project_code_key,
        case
            when client_names.client_count = 1 then client_names.client_id
            when client_sirens.client_count = 1 then client_sirens.client_id
        end as named_client_id,
        case
            when client_names.client_count = 1 then 'client_name'
            when client_sirens.client_count = 1 then 'siren'
        end as named_client_match_method,
        coalesce(client_names.client_count > 1 or client_sirens.client_count > 1, false) as is_client_ambiguous
    from entries
    left join client_names using (client_name_key)
    left join client_sirens on entries.client_siren = client_sirens.siren

),

deals as (

    select
        deal_id,
        client_id,
        lower(mission_code) as mission_code_key,
        {{ name_key('deal_name') }} as deal_name_key,
        start_date,
        end_date
    from {{ ref('int_deals__deals') }}

),

firm_unique_deal_names as (

    select deal_name_key, min(deal_id) as deal_id
    from deals
    where deal_name_key is not null
    group by deal_name_key
    having count(*) = 1

),

deal_candidates as (

    select entries.time_entry_key, deals.deal_id, 1 as priority, 'project_code' as deal_match_method
    from entries_with_client as entries
    inner join deals on entries.project_code_key = lower(deals.deal_id)

    union all

    select entries.time_entry_key, deals.deal_id, 2 as priority, 'client_project_name' as deal_match_method
    from entries_with_client as entries
    inner join deals
        on entries.named_client_id = deals.client_id
        and entries.project_name_key = deals.deal_name_key

    union all

    select entries.time_entry_key, unique_names.deal_id, 3 as priority, 'project_name' as deal_match_method
    from entries_with_client as entries
    inner join firm_unique_deal_names as unique_names on entries.project_name_key = unique_names.deal_name_key
    where entries.named_client_id is null

    union all

    select entries.time_entry_key, deals.deal_id, 4 as priority, 'mission_code' as deal_match_method
    from entries_with_client as entries
    inner join deals
        on entries.named_client_id = deals.client_id
        and entries.project_code_key = deals.mission_code_key

),

best_deals as (

    select time_entry_key, deal_id, deal_match_method, deal_client_id
    from (
        select
            deal_candidates.time_entry_key,
            deal_candidates.deal_id,
            deal_candidates.deal_match_method,
            deals.client_id as deal_client_id,
            row_number() over (
                partition by deal_candidates.time_entry_key
                order by
                    deal_candidates.priority,
                    -- days between the entry and the deal's dates, 0 inside them (greatest() skips empty dates)
                    coalesce(greatest({{ dbt.datediff('entries.entry_date', 'deals.start_date', 'day') }},
                                      {{ dbt.datediff('deals.end_date', 'entries.entry_date', 'day') }}, 0), 0),
                    deal_candidates.deal_id
            ) as _rank
        from deal_candidates
        inner join deals using (deal_id)
        inner join entries_with_client as entries using (time_entry_key)
    ) as ranked
    where _rank = 1

),

matched as (

    select
        entries.time_entry_key,
        entries.source_format,
        entries.entry_date,
        entries.duration_hours,
        entries.is_billable,
        entries.billable_rate,
        entries.user_name,
        entries.user_email,
        entries.client_name,
        entries.project_name,
        entries.project_code,
        entries.task,

        ---------- collaborator
        case
            when collaborator_emails.collaborator_count = 1 then collaborator_emails.collaborator_id
            when collaborator_names.collaborator_count = 1 then collaborator_names.collaborator_id
        end as collaborator_id,
        case
            when collaborator_emails.collaborator_count = 1 then 'email'
            when collaborator_names.collaborator_count = 1 then 'name'
        end as collaborator_match_method,
        coalesce(
            collaborator_emails.collaborator_count = 1 or collaborator_names.collaborator_count = 1, false
        ) as is_collaborator_matched,
        case
            when collaborator_emails.collaborator_count = 1 or collaborator_names.collaborator_count = 1 then null
            when entries.user_email_key is null and entries.user_name_key is null then 'no_identity'
            when collaborator_emails.collaborator_count > 1 or collaborator_names.collaborator_count > 1
                then 'ambiguous'
            else 'unknown'
        end as collaborator_unmatched_reason,

        ---------- deal
        best_deals.deal_id,
        best_deals.deal_match_method,
        best_deals.deal_id is not null as is_deal_matched,
        case
            when best_deals.deal_id is not null then null
            when entries.project_name_key is null and entries.project_code_key is null then 'no_project'
            when with_client.named_client_id is not null then 'unknown_project'
            when with_client.is_client_ambiguous then 'ambiguous_client'
            else 'unknown_client'
        end as deal_unmatched_reason,

        ---------- client: the deal's, else the one the client column names
        coalesce(best_deals.deal_client_id, with_client.named_client_id) as client_id,
        case
            when best_deals.deal_client_id is not null then 'deal'
            else with_client.named_client_match_method
        end as client_match_method,

        ---------- lineage
        entries._file_sha256,
        entries._source_file,
        entries._line_number

    from entries
    inner join entries_with_client as with_client using (time_entry_key)
    left join collaborator_emails on entries.user_email_key = collaborator_emails.email_key
    left join collaborator_names on entries.user_name_key = collaborator_names.name_key
    left join best_deals using (time_entry_key)

),

costed as (

    select
        matched.*,
        collaborators.hourly_cost,
        -- exact product (scale 6): rounded to the cent only once summed per deal
        matched.duration_hours * collaborators.hourly_cost as labour_cost
    from matched
    left join collaborators using (collaborator_id)

)

select * from costed
