-- Every key under which a source knows a company, resolved to the project's client_id: the SIREN when known,
-- else 'crm-' || CRM company id (FEC files without a valid SIREN: 'fec-...', see stg_accounting__fec_lines).
-- The practice export identifies companies by their CRM id, so one 'crm_company' key serves both sources; a CRM
-- company without a SIREN takes the one of its practice client file. CRM and FEC meet on the SIREN.
-- The ledger-to-company matching is made here, once, for rpt_unmatched_records to list: is_matched says whether
-- a FEC ledger's client is a company the CRM or the practice export knows (else invalid_siren, unknown_siren),
-- and whether a CRM company of type client has a ledger (else no_ledger); it is empty for the other keys, which
-- need no match.

with

crm_companies as (

    -- staging holds one row per company id
    select company_id, siren, coalesce(account_type = 'client', false) as is_crm_client
    from {{ ref('stg_crm__companies') }}
    where company_id is not null

),

client_files as (

    select company_id, min(siren) as siren
    from {{ ref('stg_practice__client_files') }}
    group by company_id

),

fec_files as (

    select client_id, siren from {{ ref('int_fec__files') }}

),

loaded_fec_files as (

    -- a FEC file loaded without any line still tells that the company exists
    select client_id, siren
    from {{ ref('stg_ingest__files') }}
    where source = 'accounting' and status = 'loaded' and siren is not null

),

company_ids as (

    select company_id from crm_companies
    union
    select company_id from client_files where company_id is not null

),

company_keys as (

    select
        'crm_company' as key_source,
        company_ids.company_id as key_value,
        {{ crm_client_id('coalesce(crm_companies.siren, client_files.siren)', 'company_ids.company_id') }} as client_id,
        coalesce(crm_companies.siren, client_files.siren) as siren,
        crm_companies.company_id is not null as is_in_crm,
        client_files.company_id is not null as is_in_practice,
        false as is_in_ledger,
        coalesce(crm_companies.is_crm_client, false) as is_crm_client
    from company_ids
    left join crm_companies using (company_id)
    left join client_files using (company_id)

),

practice_siren_keys as (

    -- a client file without a CRM id is known by its SIREN only
    select
        'practice_siren' as key_source,
        siren as key_value,
        siren as client_id,
        siren,
        false as is_in_crm,
        true as is_in_practice,
        false as is_in_ledger,
        false as is_crm_client
    from client_files
    where company_id is null and siren is not null

),

ledger_keys as (

    select
        'fec_ledger' as key_source,
        client_id as key_value,
        client_id,
        max(siren) as siren,
        false as is_in_crm,
        false as is_in_practice,
        true as is_in_ledger,
        false as is_crm_client
    from (select * from fec_files union all select * from loaded_fec_files) as ledger_clients
    group by client_id

),

unioned as (

    select * from company_keys
    union all
    select * from practice_siren_keys
    union all
    select * from ledger_keys

),

ledger_client_ids as (

    select distinct client_id from unioned where key_source = 'fec_ledger'

),

company_client_ids as (

    select distinct client_id from unioned where key_source != 'fec_ledger'

),

matched as (

    select
        unioned.*,
        case
            when unioned.key_source = 'fec_ledger' then company_client_ids.client_id is not null
            when unioned.is_crm_client then ledger_client_ids.client_id is not null
        end as is_matched,
        case
            when unioned.key_source = 'fec_ledger' and company_client_ids.client_id is null
                then case when unioned.siren is null then 'invalid_siren' else 'unknown_siren' end
            when unioned.is_crm_client and ledger_client_ids.client_id is null then 'no_ledger'
        end as unmatched_reason
    from unioned
    left join company_client_ids on unioned.client_id = company_client_ids.client_id
    left join ledger_client_ids on unioned.client_id = ledger_client_ids.client_id

)

select * from matched
