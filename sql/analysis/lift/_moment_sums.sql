-- purpose: the per-arm sums of a unit's six outcome variables (ind, val, cnt and their
--          pre-period twins pre_ind, pre_val, pre_cnt): each variable's sum, and the sum of
--          every product of two of them (squares included), 27 columns in all. The column
--          names are what threadlift.analysis.lift reads (name_sum, a_b_sum_product, a_sum_squares).
-- grain:   a fragment of a select list (no statement): the aggregates of one group; the
--          including query says what it groups by (analysis/lift/action_moments.sql,
--          action_moments_one_lookback.sql, analysis/windows/state_moments.sql).
-- reads:   columns ind, val, cnt, pre_ind, pre_val, pre_cnt of the including query's FROM.
-- params:  none.
fsum(ind) AS ind_sum,
fsum(val) AS val_sum,
fsum(cnt) AS cnt_sum,
fsum(pre_ind) AS pre_ind_sum,
fsum(pre_val) AS pre_val_sum,
fsum(pre_cnt) AS pre_cnt_sum,
fsum(ind * ind) AS ind_sum_squares,
fsum(ind * val) AS ind_val_sum_product,
fsum(ind * cnt) AS ind_cnt_sum_product,
fsum(ind * pre_ind) AS ind_pre_ind_sum_product,
fsum(ind * pre_val) AS ind_pre_val_sum_product,
fsum(ind * pre_cnt) AS ind_pre_cnt_sum_product,
fsum(val * val) AS val_sum_squares,
fsum(val * cnt) AS val_cnt_sum_product,
fsum(val * pre_ind) AS val_pre_ind_sum_product,
fsum(val * pre_val) AS val_pre_val_sum_product,
fsum(val * pre_cnt) AS val_pre_cnt_sum_product,
fsum(cnt * cnt) AS cnt_sum_squares,
fsum(cnt * pre_ind) AS cnt_pre_ind_sum_product,
fsum(cnt * pre_val) AS cnt_pre_val_sum_product,
fsum(cnt * pre_cnt) AS cnt_pre_cnt_sum_product,
fsum(pre_ind * pre_ind) AS pre_ind_sum_squares,
fsum(pre_ind * pre_val) AS pre_ind_pre_val_sum_product,
fsum(pre_ind * pre_cnt) AS pre_ind_pre_cnt_sum_product,
fsum(pre_val * pre_val) AS pre_val_sum_squares,
fsum(pre_val * pre_cnt) AS pre_val_pre_cnt_sum_product,
fsum(pre_cnt * pre_cnt) AS pre_cnt_sum_squares
