import { randomUUID } from 'node:crypto';

/** A 32-character lowercase hex id, the shape MLflow uses for run ids. */
export const newHexId = (): string => randomUUID().replaceAll('-', '');

/** Request ids: short, sortable enough for logs, unique per process. */
export const newRequestId = (): string => randomUUID();
