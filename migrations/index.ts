import type { Migration } from 'kysely';
import * as rawAndOps from './2026-11-24T0900_raw_and_ops.js';
import * as transformState from './2026-11-24T1000_transform_state.js';
import * as runsAndDeliveries from './2026-11-24T1100_runs_and_deliveries.js';
import * as privacyAndRetention from './2026-11-24T1200_privacy_and_retention.js';
import * as inputFormats from './2026-11-25T0900_input_formats.js';
import * as statistics from './2026-11-26T0900_statistics.js';
import * as agentSteps from './2026-11-27T0900_agent_steps.js';
import * as allocation from './2026-11-28T0900_allocation.js';
import * as invoices from './2026-11-29T0900_invoices.js';
import * as buildMarker from './2026-11-30T0900_build_marker.js';
import * as partitionedRaw from './2026-12-01T0900_partitioned_raw.js';
import * as citusFunctions from './2026-12-05T0900_citus_functions.js';
import * as foldedWindow from './2026-12-06T0900_folded_window.js';
import * as rawWithoutFk from './2026-12-06T1000_raw_without_fk.js';
import * as rawWithoutDefault from './2026-12-06T1100_raw_without_default.js';
import * as seedDirtyDays from './2026-12-07T0900_seed_dirty_days.js';
import * as testSpecHash from './2026-12-07T1000_test_spec_hash.js';
import * as loadRetries from './2026-12-08T0900_load_retries.js';

/**
 * Every migration, by its dated name. Imported statically (not read from a folder) so the same
 * list works from sources and from the compiled dist/.
 */
export const migrations: Readonly<Record<string, Migration>> = {
    '2026-11-24T0900_raw_and_ops': rawAndOps,
    '2026-11-24T1000_transform_state': transformState,
    '2026-11-24T1100_runs_and_deliveries': runsAndDeliveries,
    '2026-11-24T1200_privacy_and_retention': privacyAndRetention,
    '2026-11-25T0900_input_formats': inputFormats,
    '2026-11-26T0900_statistics': statistics,
    '2026-11-27T0900_agent_steps': agentSteps,
    '2026-11-28T0900_allocation': allocation,
    '2026-11-29T0900_invoices': invoices,
    '2026-11-30T0900_build_marker': buildMarker,
    '2026-12-01T0900_partitioned_raw': partitionedRaw,
    '2026-12-05T0900_citus_functions': citusFunctions,
    '2026-12-06T0900_folded_window': foldedWindow,
    '2026-12-06T1000_raw_without_fk': rawWithoutFk,
    '2026-12-06T1100_raw_without_default': rawWithoutDefault,
    '2026-12-07T0900_seed_dirty_days': seedDirtyDays,
    '2026-12-07T1000_test_spec_hash': testSpecHash,
    '2026-12-08T0900_load_retries': loadRetries,
};
