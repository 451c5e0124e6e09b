// SPDX-License-Identifier: GPL-2.0
//! The test bodies as the C functions kunit_shim.c calls: NULL for a pass,
//! else the failure message (a static string).

use crate::cases::{self, TestResult};
use core::ffi::c_char;

fn outcome(r: TestResult) -> *const c_char {
    match r {
        Ok(()) => core::ptr::null(),
        Err(msg) => msg.as_ptr(),
    }
}

macro_rules! export {
    ($($c:ident => $f:ident),* $(,)?) => {
        $(
            #[no_mangle]
            extern "C" fn $c() -> *const c_char {
                outcome(cases::$f())
            }
        )*
    };
}

export! {
    rscst_kunit_setup => setup,
    rscst_kunit_emulated_in_thread_is_not_reentered => emulated_in_thread_is_not_reentered,
    rscst_kunit_emulated_in_softirq_defers_strict_fabric => emulated_in_softirq_defers_strict_fabric,
    rscst_kunit_emulated_in_softirq_runs_inline_for_open_fabric => emulated_in_softirq_runs_inline_for_open_fabric,
    rscst_kunit_start_in_hardirq_answers_from_a_thread => start_in_hardirq_answers_from_a_thread,
    rscst_kunit_exec_done_in_hardirq_responds_from_a_thread => exec_done_in_hardirq_responds_from_a_thread,
    rscst_kunit_atomic_handler_runs_inline_in_softirq => atomic_handler_runs_inline_in_softirq,
    rscst_kunit_sleeping_handler_runs_in_a_thread => sleeping_handler_runs_in_a_thread,
    rscst_kunit_inline_completion_goes_back_to_the_exec_call => inline_completion_goes_back_to_the_exec_call,
    rscst_kunit_rdy_to_xfer_follows_the_template => rdy_to_xfer_follows_the_template,
    rscst_kunit_reused_sgv_buffer_is_zeroed_before_a_read => reused_sgv_buffer_is_zeroed_before_a_read,
    rscst_kunit_abort_task_waits_for_the_held_command => abort_task_waits_for_the_held_command,
    rscst_kunit_lun_reset_spares_commands_after_it => lun_reset_spares_commands_after_it,
    rscst_kunit_target_reset_marks_every_session_first => target_reset_marks_every_session_first,
    rscst_kunit_abort_races_hardirq_completions => abort_races_hardirq_completions,
    rscst_kunit_registration_refuses_bad_tables => registration_refuses_bad_tables,
    rscst_kunit_raw_tier_answers_any_status_sense_and_residual => raw_tier_answers_any_status_sense_and_residual,
    rscst_kunit_raw_tier_declines_and_the_core_emulates => raw_tier_declines_and_the_core_emulates,
    rscst_kunit_raw_tier_malformed_answers_become_internal_failures => raw_tier_malformed_answers_become_internal_failures,
    rscst_kunit_raw_tier_gets_write_data_for_unknown_cdbs => raw_tier_gets_write_data_for_unknown_cdbs,
    rscst_kunit_commands_carry_their_session_context => commands_carry_their_session_context,
    rscst_kunit_raw_tier_read_only_lun_refuses_writes => raw_tier_read_only_lun_refuses_writes,
    rscst_kunit_raw_tier_large_unknown_cdb_from_softirq => raw_tier_large_unknown_cdb_from_softirq,
    rscst_kunit_raw_tier_of_a_tape_gets_commands_sized_by_the_initiator => raw_tier_of_a_tape_gets_commands_sized_by_the_initiator,
    rscst_kunit_unregistration_waits_for_commands_of_every_cpu => unregistration_waits_for_commands_of_every_cpu,
    rscst_kunit_lun_replace_never_leaves_the_lun_missing => lun_replace_never_leaves_the_lun_missing,
    rscst_kunit_abort_task_set_clear_task_set_and_nexus_reset_abort_held_commands => abort_task_set_clear_task_set_and_nexus_reset_abort_held_commands,
    rscst_kunit_lun_reset_leaves_one_unit_attention_per_nexus => lun_reset_leaves_one_unit_attention_per_nexus,
    rscst_kunit_lun_inventory_changes_raise_unit_attentions_until_report_luns => lun_inventory_changes_raise_unit_attentions_until_report_luns,
    rscst_kunit_clear_task_set_tells_the_other_initiator => clear_task_set_tells_the_other_initiator,
    rscst_kunit_new_nexus_reports_power_on_at_every_lun => new_nexus_reports_power_on_at_every_lun,
    rscst_kunit_mode_select_switches_the_write_cache_of_every_nexus => mode_select_switches_the_write_cache_of_every_nexus,
    rscst_kunit_unmap_makes_one_discard_per_range_one_at_a_time => unmap_makes_one_discard_per_range_one_at_a_time,
    rscst_kunit_an_aborted_unmap_makes_no_further_discard => an_aborted_unmap_makes_no_further_discard,
    rscst_kunit_read_backs_compare_what_the_medium_holds => read_backs_compare_what_the_medium_holds,
    rscst_kunit_compare_and_write_holds_writes_until_it_completes => compare_and_write_holds_writes_until_it_completes,
    rscst_kunit_query_functions_find_without_aborting => query_functions_find_without_aborting,
    rscst_kunit_task_aborted_status_goes_to_the_other_initiator => task_aborted_status_goes_to_the_other_initiator,
    rscst_kunit_preempt_and_abort_ends_the_preempted_initiators_commands => preempt_and_abort_ends_the_preempted_initiators_commands,
    rscst_kunit_ordered_waits_for_earlier_commands_and_holds_later_ones => ordered_waits_for_earlier_commands_and_holds_later_ones,
    rscst_kunit_aca_attribute_is_refused_and_restricted_reordering_orders_simple_commands => aca_attribute_is_refused_and_restricted_reordering_orders_simple_commands,
    rscst_kunit_qerr_aborts_the_task_set_on_check_condition => qerr_aborts_the_task_set_on_check_condition,
    rscst_kunit_abort_task_set_answers_commands_queued_in_the_task_set_at_once => abort_task_set_answers_commands_queued_in_the_task_set_at_once,
    rscst_kunit_target_reset_answers_task_aborted_where_tas_is_set => target_reset_answers_task_aborted_where_tas_is_set,
    rscst_kunit_preempt_and_abort_at_the_head_of_the_queue_ends_what_is_queued_behind => preempt_and_abort_at_the_head_of_the_queue_ends_what_is_queued_behind,
    rscst_kunit_aca_condition_admits_only_the_faulted_nexus_aca_command_until_clear_aca => aca_condition_admits_only_the_faulted_nexus_aca_command_until_clear_aca,
    rscst_kunit_aca_condition_blocks_the_task_set_until_clear_aca_reset_or_preemption => aca_condition_blocks_the_task_set_until_clear_aca_reset_or_preemption,
    rscst_kunit_the_fabric_is_told_of_each_unit_attention_raised => the_fabric_is_told_of_each_unit_attention_raised,
}

#[no_mangle]
extern "C" fn rscst_kunit_teardown() {
    cases::teardown()
}

#[no_mangle]
extern "C" fn rscst_kunit_case_init() {
    cases::release_held();
    cases::clear_attentions();
}
