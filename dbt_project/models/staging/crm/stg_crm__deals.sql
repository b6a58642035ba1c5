-- One row per deal (deal_id), the grain its tests hold at error: the first copy (file order). The other copies stay
-- in base_crm__deals, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__deals'), ['deal_id']) }}
