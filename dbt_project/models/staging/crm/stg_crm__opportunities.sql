-- One row per opportunity (opportunity_id), the grain its tests hold at error: the first copy (file order). The
-- other copies stay in base_crm__opportunities, where rpt_data_quality lists them.

{{ one_row_per(ref('base_crm__opportunities'), ['opportunity_id']) }}
