-- Every (parent account, subsidiary) pair at any depth: a group's subsidiaries, their own subsidiaries, and so on.
-- UNION (not UNION ALL) makes the recursion stop on a cycle written in the CRM (A parent of B parent of A): a pair
-- already found is not searched again.

with recursive

parent_links as (

    select client_id, parent_client_id
    from {{ ref('int_crm__accounts') }}
    where parent_client_id is not null

),

descendants as (

    select parent_client_id as ancestor_client_id, client_id as descendant_client_id
    from parent_links

    union

    select descendants.ancestor_client_id, parent_links.client_id as descendant_client_id
    from descendants
    inner join parent_links on descendants.descendant_client_id = parent_links.parent_client_id

),

final as (

    -- in a cycle every account is its own descendant: an account is not its own subsidiary
    select ancestor_client_id, descendant_client_id
    from descendants
    where ancestor_client_id <> descendant_client_id

)

select * from final
