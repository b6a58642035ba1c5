-- What the cross-source matching could not match (issue 3: "never dropped silently"), one row per record and
-- what it failed to match, with a readable reason in French and English and the record's values as JSON:
--   time_entry → collaborator  neither the e-mail nor the name is one collaborator's (int_time__entries_matched)
--   time_entry → deal          no deal by project code, project name or mission code
--   ledger     → company       a FEC SIREN that neither the CRM nor the practice export knows
--   company    → ledger        a CRM company of type client without any FEC file
--   deal       → company       a deal whose company no source knows
--   purchase   → deal          a purchase without a deal, or naming an unknown deal
--   invoice    → deal          a counted invoice naming an unknown deal (an invoice without deal is not a deal's)
--   credit_note → invoice      a counted credit note naming an unknown invoice
-- Drafts and cancelled documents never count anywhere, so they are not listed.
-- This report matches nothing itself: each matching model flags what it could not match (is_matched,
-- unmatched_reason: int_time__entries_matched, int_clients__keys, int_deals__deals, int_deals__documents_matched),
-- and the report words the reason and unions them; joins below only fetch a record's own details.

with

time_entries as (

    select * from {{ ref('int_time__entries_matched') }}

),

client_keys as (

    select * from {{ ref('int_clients__keys') }}

),

company_clients as (

    select key_value as company_id, client_id from client_keys where key_source = 'crm_company'

),

deals as (

    select * from {{ ref('int_deals__deals') }}

),

time_entry_details as (

    select
        *,
        {{ vigie.json_object_of([
            ('source_format', 'source_format'),
            ('user_name', 'user_name'),
            ('user_email', 'user_email'),
            ('client_name', 'client_name'),
            ('project_name', 'project_name'),
            ('project_code', 'project_code'),
            ('task', 'task'),
            ('entry_date', 'entry_date'),
            ('duration_hours', 'duration_hours'),
            ('collaborator_id', 'collaborator_id'),
            ('deal_id', 'deal_id'),
        ]) }} as details
    from time_entries

),

unmatched_collaborators as (

    select
        'timetracking' as source,
        'time_entry' as entity,
        time_entry_key as record_key,
        'collaborator' as match_target,
        collaborator_unmatched_reason as reason_code,
        case collaborator_unmatched_reason
            when 'no_identity' then 'Saisie de temps sans e-mail ni nom de collaborateur'
            when 'ambiguous' then 'Plusieurs collaborateurs portent l''e-mail « ' || coalesce(user_email, '')
                || ' » ou le nom « ' || coalesce(user_name, '') || ' »'
            else 'Aucun collaborateur ne porte l''e-mail « ' || coalesce(user_email, '')
                || ' » ni le nom « ' || coalesce(user_name, '') || ' »'
        end as reason,
        case collaborator_unmatched_reason
            when 'no_identity' then 'Time entry without a collaborator e-mail or name'
            when 'ambiguous' then 'Several collaborators have the e-mail "' || coalesce(user_email, '')
                || '" or the name "' || coalesce(user_name, '') || '"'
            else 'No collaborator has the e-mail "' || coalesce(user_email, '')
                || '" or the name "' || coalesce(user_name, '') || '"'
        end as reason_en,
        client_id,
        entry_date as record_date,
        _source_file as source_file,
        _line_number as line_number,
        details
    from time_entry_details
    where not is_collaborator_matched

),

unmatched_deals as (

    select
        'timetracking' as source,
        'time_entry' as entity,
        time_entry_key as record_key,
        'deal' as match_target,
        deal_unmatched_reason as reason_code,
        case deal_unmatched_reason
            when 'no_project' then 'Saisie de temps sans projet ni code projet'
            when 'unknown_project' then 'Aucune affaire du client « ' || coalesce(client_name, '')
                || ' » ne porte le nom ou le code de projet « ' || coalesce(project_name, project_code) || ' »'
            when 'ambiguous_client' then 'Le client « ' || coalesce(client_name, '')
                || ' » correspond à plusieurs sociétés du CRM et le projet « ' || coalesce(project_name, project_code)
                || ' » ne désigne aucune affaire unique'
            else 'Client « ' || coalesce(client_name, '') || ' » inconnu du CRM et projet « '
                || coalesce(project_name, project_code) || ' » sans affaire unique de ce nom'
        end as reason,
        case deal_unmatched_reason
            when 'no_project' then 'Time entry without a project or project code'
            when 'unknown_project' then 'No deal of client "' || coalesce(client_name, '')
                || '" has the project name or code "' || coalesce(project_name, project_code) || '"'
            when 'ambiguous_client' then 'Client "' || coalesce(client_name, '')
                || '" matches several CRM companies and project "' || coalesce(project_name, project_code)
                || '" names no single deal'
            else 'Client "' || coalesce(client_name, '') || '" unknown to the CRM and no single deal named "'
                || coalesce(project_name, project_code) || '"'
        end as reason_en,
        client_id,
        entry_date as record_date,
        _source_file as source_file,
        _line_number as line_number,
        details
    from time_entry_details
    where not is_deal_matched

),

ledger_files as (

    select client_id, min(file_path) as first_file, count(*) as file_count
    from {{ ref('stg_ingest__files') }}
    where source = 'accounting' and status = 'loaded' and client_id is not null
    group by client_id

),

unmatched_ledgers as (

    select
        'accounting' as source,
        'ledger' as entity,
        ledger_keys.client_id as record_key,
        'company' as match_target,
        ledger_keys.unmatched_reason as reason_code,
        case
            when ledger_keys.unmatched_reason = 'invalid_siren'
                then 'FEC sans SIREN valide (« ' || ledger_keys.client_id || ' ») : aucune société à rapprocher'
            else 'SIREN ' || ledger_keys.siren || ' des FEC inconnu du CRM et des dossiers de production'
        end as reason,
        case
            when ledger_keys.unmatched_reason = 'invalid_siren'
                then 'FEC file without a valid SIREN ("' || ledger_keys.client_id || '"): no company to match'
            else 'SIREN ' || ledger_keys.siren || ' of the FEC files is unknown to the CRM and the practice files'
        end as reason_en,
        ledger_keys.client_id,
        cast(null as date) as record_date,
        ledger_files.first_file as source_file,
        cast(null as bigint) as line_number,
        {{ vigie.json_object_of([('siren', 'ledger_keys.siren'), ('file_count', 'coalesce(ledger_files.file_count, 0)')]) }} as details
    from client_keys as ledger_keys
    left join ledger_files using (client_id)
    where ledger_keys.key_source = 'fec_ledger' and not ledger_keys.is_matched

),

crm_clients_without_ledger as (

    select companies.*, keys.client_id, keys.unmatched_reason
    from client_keys as keys
    inner join {{ ref('stg_crm__companies') }} as companies on keys.key_value = companies.company_id
    where keys.key_source = 'crm_company' and not keys.is_matched

),

unmatched_crm_clients as (

    select
        'crm' as source,
        'company' as entity,
        company_id as record_key,
        'ledger' as match_target,
        unmatched_reason as reason_code,
        'Client du CRM « ' || coalesce(company_name, company_id) || ' » sans aucun FEC chargé'
            || case when siren is null then ' (SIREN inconnu)' else ' (SIREN ' || siren || ')' end as reason,
        'CRM client "' || coalesce(company_name, company_id) || '" has no FEC file loaded'
            || case when siren is null then ' (SIREN unknown)' else ' (SIREN ' || siren || ')' end as reason_en,
        client_id,
        created_date as record_date,
        _source_file as source_file,
        _line_number as line_number,
        {{ vigie.json_object_of([('name', 'company_name'), ('siren', 'siren'), ('siren_as_received', 'siren_as_received')]) }} as details
    from crm_clients_without_ledger

),

unmatched_deal_companies as (

    select
        'crm' as source,
        'deal' as entity,
        deal_id as record_key,
        'company' as match_target,
        unmatched_reason as reason_code,
        case
            when unmatched_reason = 'no_company' then 'Affaire « ' || coalesce(deal_name, deal_id) || ' » sans société'
            else 'Affaire « ' || coalesce(deal_name, deal_id) || ' » : société ' || company_id || ' inconnue'
        end as reason,
        case
            when unmatched_reason = 'no_company' then 'Deal "' || coalesce(deal_name, deal_id) || '" has no company'
            else 'Deal "' || coalesce(deal_name, deal_id) || '": company ' || company_id || ' is unknown'
        end as reason_en,
        cast(null as string) as client_id,
        start_date as record_date,
        _source_file as source_file,
        _line_number as line_number,
        {{ vigie.json_object_of([('company_id', 'company_id'), ('name', 'deal_name'), ('status', 'status')]) }} as details
    from deals
    where not is_matched

),

unmatched_documents as (

    select * from {{ ref('int_deals__documents_matched') }}
    where not is_matched

),

unmatched_purchases as (

    select
        'crm' as source,
        'purchase' as entity,
        document_key as record_key,
        match_target,
        unmatched_reason as reason_code,
        case
            when unmatched_reason = 'no_deal' then 'Achat sans affaire : il ne compte dans aucune affaire'
            else 'Achat imputé à l''affaire ' || named_deal_id || ', inconnue du CRM'
        end as reason,
        case
            when unmatched_reason = 'no_deal' then 'Purchase without a deal: it counts toward no deal'
            else 'Purchase booked on deal ' || named_deal_id || ', unknown to the CRM'
        end as reason_en,
        cast(null as string) as client_id,
        document_date as record_date,
        _source_file as source_file,
        _line_number as line_number,
        {{ vigie.json_object_of([('deal_id', 'named_deal_id'), ('supplier', 'supplier'), ('total_excl_tax', 'total_excl_tax')]) }} as details
    from unmatched_documents
    where document_type = 'purchase'

),

unmatched_invoices as (

    select
        'crm' as source,
        'invoice' as entity,
        invoices.document_key as record_key,
        invoices.match_target,
        invoices.unmatched_reason as reason_code,
        'Facture ' || coalesce(invoices.document_number, invoices.document_id) || ' imputée à l''affaire '
            || invoices.named_deal_id || ', inconnue du CRM' as reason,
        'Invoice ' || coalesce(invoices.document_number, invoices.document_id) || ' booked on deal '
            || invoices.named_deal_id || ', unknown to the CRM' as reason_en,
        company_clients.client_id,
        invoices.document_date as record_date,
        invoices._source_file as source_file,
        invoices._line_number as line_number,
        {{ vigie.json_object_of([('deal_id', 'invoices.named_deal_id'), ('company_id', 'invoices.company_id'), ('status', 'invoices.status'), ('total_excl_tax', 'invoices.total_excl_tax')]) }} as details
    from unmatched_documents as invoices
    left join company_clients on invoices.company_id = company_clients.company_id
    where invoices.document_type = 'invoice'

),

unmatched_credit_notes as (

    select
        'crm' as source,
        'credit_note' as entity,
        credit_notes.document_key as record_key,
        credit_notes.match_target,
        credit_notes.unmatched_reason as reason_code,
        'Avoir ' || coalesce(credit_notes.document_number, credit_notes.document_id)
            || ' sur la facture ' || credit_notes.named_invoice_id || ', inconnue du CRM' as reason,
        'Credit note ' || coalesce(credit_notes.document_number, credit_notes.document_id)
            || ' on invoice ' || credit_notes.named_invoice_id || ', unknown to the CRM' as reason_en,
        company_clients.client_id,
        credit_notes.document_date as record_date,
        credit_notes._source_file as source_file,
        credit_notes._line_number as line_number,
        {{ vigie.json_object_of([('invoice_id', 'credit_notes.named_invoice_id'), ('company_id', 'credit_notes.company_id'), ('status', 'credit_notes.status'), ('total_excl_tax', 'credit_notes.total_excl_tax')]) }} as details
    from unmatched_documents as credit_notes
    left join company_clients on credit_notes.company_id = company_clients.company_id
    where credit_notes.document_type = 'credit_note'

),

unioned as (

    select * from unmatched_collaborators
    union all
    select * from unmatched_deals
    union all
    select * from unmatched_ledgers
    union all
    select * from unmatched_crm_clients
    union all
    select * from unmatched_deal_companies
    union all
    select * from unmatched_purchases
    union all
    select * from unmatched_invoices
    union all
    select * from unmatched_credit_notes

),

final as (

    select
        cast(source as string) as source,
        cast(entity as string) as entity,
        cast(record_key as string) as record_key,
        cast(match_target as string) as match_target,
        cast(reason_code as string) as reason_code,
        cast(reason as string) as reason,
        cast(reason_en as string) as reason_en,
        cast(client_id as string) as client_id,
        cast(record_date as date) as record_date,
        cast(source_file as string) as source_file,
        cast(line_number as bigint) as line_number,
        cast(details as {{ vigie.type_json() }}) as details
    from unioned

)

select * from final
