{#- Each client with a ledger, and a fingerprint of the set of FEC file versions its months are attributed to
    (int_fec__client_months). Whatever is computed from a client's ledger alone changes only when this set does:
    an incremental model keyed by client recomputes the clients whose fingerprint it does not hold yet. -#}
{% macro client_file_signatures() -%}
    select client_id, md5({{ vigie.sorted_distinct_text('file_sha256', ',') }}) as files_signature
    from {{ ref('int_fec__client_months') }}
    group by client_id
{%- endmacro %}

{#- The post-hook of such a model: rows of a (client, set of files) that is no longer current leave it. -#}
{% macro forget_stale_client_signatures() -%}
    {% if is_incremental() -%}
    delete from {{ this }} where (client_id, files_signature) not in (
        select (client_id, files_signature) from ({{ client_file_signatures() }}) as signatures
    )
    {%- else -%}
    select 1
    {%- endif %}
{%- endmacro %}
