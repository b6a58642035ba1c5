-- One row per document (document_id), the grain its tests hold at error: the last copy (the latest export). The
-- other copies stay in base_practice__documents, where rpt_data_quality lists them.

{{ one_row_per(ref('base_practice__documents'), ['document_id'], order_by='_source_file desc, _line_number desc') }}
