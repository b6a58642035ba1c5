with

source as (

    select * from {{ source('accounting', 'fec_lines') }}

),

opening_journals as (

    select journal_code from {{ ref('opening_journals') }}

),

renamed as (

    select

        ---------- file
        {{ fec_client_columns('siren', '_source_file') }},
        siren as siren_as_received,
        closing_date,

        ---------- entry
        upper(trim(journal_code)) as journal_code,
        journal_lib as journal_label,
        trim(ecriture_num) as entry_number,
        ecriture_date as entry_date,
        trim(compte_num) as account_number,
        compte_lib as account_label,
        {{ clean_text('comp_aux_num') }} as auxiliary_account_number,
        comp_aux_lib as auxiliary_account_label,
        piece_ref as document_reference,
        piece_date as document_date,
        ecriture_lib as entry_label,

        ---------- amounts
        debit,
        credit,
        montant_devise as currency_amount,
        {{ clean_text('idevise') }} as currency_code,

        ---------- reconciliation and validation
        {{ clean_text('ecriture_let') }} as lettering_code,
        date_let as lettering_date,
        valid_date as validation_date,

        ---------- cash-basis layouts (BA, BNC)
        date_rglt as payment_date,
        {{ clean_text('mode_rglt') }} as payment_method,
        {{ clean_text('nat_op') }} as operation_nature,
        {{ clean_text('id_client') }} as customer_reference,

        ---------- lineage
        _file_sha256,
        _source_file,
        _line_number

    from source

),

flagged as (

    select
        renamed.*,
        coalesce(renamed.journal_code in (select opening_journals.journal_code from opening_journals), false) as is_opening
    from renamed

)

select * from flagged
