-- Sales pipeline per owner and month (domain.md §5, seed 002), every owner of an opportunity or a deal on every
-- month from the earliest opportunity to the run's reference date. A month is seen at its last day (the current
-- month at the reference date):
--   open_*            opportunities open then (created on or before, not closed by then; open and late
--                     statuses have not closed), late_count those past their due date;
--   weighted_amount   sum of amount x probability / 100 over the open ones, rounded once, to the cent;
--   won / lost        opportunities closed within the month; cancelled and closed ones (no won/lost outcome) are
--                     counted apart and stay out of the win rate;
--   win_rate          won / (won + lost), empty when the month closed neither;
--   unknown statuses  counted apart (unknown_status_count), never in the pipeline figures.
-- The dates decide (see int_crm__opportunity_periods and int_crm__deal_periods), so past months show what was
-- open then.

with

opportunities as (

    select * from {{ ref('int_crm__opportunity_periods') }}

),

deals as (

    select * from {{ ref('int_crm__deal_periods') }}

),

bounds as (

    select
        cast(date_trunc('month', min(least(opened_on, closed_on))) as date) as first_month,
        cast(date_trunc('month', {{ as_of_date() }}) as date) as last_month
    from opportunities

),

month_series as (

    select {{ vigie.date_series_rows('first_month', 'last_month', 'month') }} as month
    from bounds

),

months as (

    select
        month,
        least(last_day(month), {{ as_of_date() }}) as month_end
    from month_series

),

owners as (

    select owner_id from opportunities
    union
    select owner_id from deals

),

grid as (

    select owners.owner_id, months.month, months.month_end
    from owners
    cross join months

),

open_at_month_end as (

    select
        months.month,
        opportunities.owner_id,
        count(*) as open_count,
        sum(opportunities.amount) as open_amount,
        sum(opportunities.amount * opportunities.probability_pct) as amount_times_probability,
        count(*) filter (where opportunities.due_date < months.month_end) as late_count
    from months
    inner join opportunities
        on
            coalesce(months.month_end >= opportunities.opened_on, true)
            and (
                (opportunities.outcome = 'open')
                or (opportunities.outcome <> 'unknown' and months.month_end < opportunities.closed_on)
            )
    group by months.month, opportunities.owner_id

),

closed_in_month as (

    select
        cast(date_trunc('month', closed_on) as date) as month,
        owner_id,
        count(*) filter (where outcome = 'won') as won_count,
        sum(amount) filter (where outcome = 'won') as won_amount,
        count(*) filter (where outcome = 'lost') as lost_count,
        count(*) filter (where outcome = 'closed_without_outcome') as closed_without_outcome_count
    from opportunities
    where outcome in ('won', 'lost', 'closed_without_outcome') and closed_on <= {{ as_of_date() }}
    group by cast(date_trunc('month', closed_on) as date), owner_id

),

unknown_at_month_end as (

    select months.month, opportunities.owner_id, count(*) as unknown_status_count
    from months
    inner join opportunities
        on opportunities.outcome = 'unknown' and coalesce(months.month_end >= opportunities.opened_on, true)
    group by months.month, opportunities.owner_id

),

deals_at_month_end as (

    select months.month, deals.owner_id, count(*) as deals_in_progress_count
    from months
    inner join deals
        on
            coalesce(months.month_end >= deals.worked_from, true)
            and coalesce(months.month_end < deals.worked_until, true)
    group by months.month, deals.owner_id

),

joined as (

    select
        grid.owner_id,
        grid.month,
        coalesce(open_at_month_end.open_count, 0) as open_count,
        coalesce(open_at_month_end.open_amount, 0) as open_amount,
        -- x 0.01 rather than / 100: DuckDB divides decimals as doubles, multiplies them exactly
        coalesce(open_at_month_end.amount_times_probability * 0.01, 0) as weighted_amount,
        coalesce(closed_in_month.won_count, 0) as won_count,
        coalesce(closed_in_month.lost_count, 0) as lost_count,
        case
            when coalesce(closed_in_month.won_count, 0) + coalesce(closed_in_month.lost_count, 0) > 0
                then closed_in_month.won_count / (closed_in_month.won_count + closed_in_month.lost_count)
        end as win_rate,
        coalesce(open_at_month_end.late_count, 0) as late_count,
        coalesce(closed_in_month.won_amount, 0) as won_amount,
        coalesce(closed_in_month.closed_without_outcome_count, 0) as closed_without_outcome_count,
        coalesce(unknown_at_month_end.unknown_status_count, 0) as unknown_status_count,
        coalesce(deals_at_month_end.deals_in_progress_count, 0) as deals_in_progress_count,
        grid.month_end
    from grid
    left join open_at_month_end
        on grid.month = open_at_month_end.month and grid.owner_id is not distinct from open_at_month_end.owner_id
    left join closed_in_month
        on grid.month = closed_in_month.month and grid.owner_id is not distinct from closed_in_month.owner_id
    left join unknown_at_month_end
        on grid.month = unknown_at_month_end.month
        and grid.owner_id is not distinct from unknown_at_month_end.owner_id
    left join deals_at_month_end
        on grid.month = deals_at_month_end.month and grid.owner_id is not distinct from deals_at_month_end.owner_id

),

final as (

    select
        cast(owner_id as string) as owner_id,
        cast(month as date) as month,
        cast(open_count as bigint) as open_count,
        cast(open_amount as decimal(18, 2)) as open_amount,
        cast(weighted_amount as decimal(18, 2)) as weighted_amount,
        cast(won_count as bigint) as won_count,
        cast(lost_count as bigint) as lost_count,
        cast(win_rate as decimal(5, 4)) as win_rate,
        cast(late_count as bigint) as late_count,
        cast(won_amount as decimal(18, 2)) as won_amount,
        cast(closed_without_outcome_count as bigint) as closed_without_outcome_count,
        cast(unknown_status_count as bigint) as unknown_status_count,
        cast(deals_in_progress_count as bigint) as deals_in_progress_count,
        cast(month_end as date) as month_end
    from joined

)

select * from final
