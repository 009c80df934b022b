import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** The project's custom search attributes: the Web UI lists migrations by these. */
export const INSTANCE_ID = defineSearchAttributeKey('InstanceId', SearchAttributeType.KEYWORD);
export const VPC_ID = defineSearchAttributeKey('VpcId', SearchAttributeType.KEYWORD);
export const MIGRATION_STEP = defineSearchAttributeKey('MigrationStep', SearchAttributeType.KEYWORD);
export const MIGRATION_OUTCOME = defineSearchAttributeKey('MigrationOutcome', SearchAttributeType.KEYWORD);

export const REGION_ID = defineSearchAttributeKey('RegionId', SearchAttributeType.KEYWORD);
/** On a batch's children: the batch (migrateFleet workflow id) that started them. */
export const BATCH_ID = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTES = [
  INSTANCE_ID,
  VPC_ID,
  MIGRATION_STEP,
  MIGRATION_OUTCOME,
  REGION_ID,
  BATCH_ID,
];
