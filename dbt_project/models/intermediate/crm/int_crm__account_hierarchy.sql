-- Every (parent account, subsidiary) pair at any depth: a group's subsidiaries, their own subsidiaries, and so on.
-- A cycle written in the CRM (A parent of B parent of A) would recurse forever: a chain cannot have more links than
-- the CRM holds, so a longer one is going round a cycle and stops there, and no group is 64 levels deep (Spark
-- allows 100 levels of recursion). UNION ALL, since Spark refuses UNION in a recursive CTE; `distinct` below.

with recursive

parent_links as (

    select client_id, parent_client_id
    from {{ ref('int_crm__accounts') }}
    where parent_client_id is not null

),

link_count as (

    select count(*) as links from parent_links

),

descendants as (

    select parent_client_id as ancestor_client_id, client_id as descendant_client_id, 1 as depth
    from parent_links

    union all

    select
        descendants.ancestor_client_id,
        parent_links.client_id as descendant_client_id,
        descendants.depth + 1 as depth
    from descendants
    inner join parent_links on descendants.descendant_client_id = parent_links.parent_client_id
    cross join link_count
    where descendants.depth < least(link_count.links, 64)

),

final as (

    -- in a cycle every account is its own descendant: an account is not its own subsidiary
    select distinct ancestor_client_id, descendant_client_id
    from descendants
    where ancestor_client_id <> descendant_client_id

)

select * from final
