import type { ApiClient, ApiResponse } from '@cloudflow/testing';
import {
  TERMINAL_JOB_STATUSES,
  type Job,
  type JobLogEntry,
  type JobResults,
  type JobStatus,
  type Page,
  type Pipeline,
} from '@cloudflow/contracts';

/** The spec's `/fake/data.csv` as the job suites write it: quoting, an embedded newline and non-ASCII text. */
export const FAKE_CSV = [
  'id,name,city,amount',
  '1,Ada Lovelace,London,120.50',
  '2,"Hopper, Grace",New York,98.00',
  '3,Alan Turing,"Manchester',
  'UK",250.75',
  '4,José Müller,São Paulo,75.25',
  '5,Ünal Şahin,İzmir,310.00',
].join('\n');

export const EXPECTED_UPPER = [
  { id: '1', name: 'ADA LOVELACE', city: 'LONDON', amount: '120.50' },
  { id: '2', name: 'HOPPER, GRACE', city: 'NEW YORK', amount: '98.00' },
  { id: '3', name: 'ALAN TURING', city: 'MANCHESTER\nUK', amount: '250.75' },
  { id: '4', name: 'JOSÉ MÜLLER', city: 'SÃO PAULO', amount: '75.25' },
  { id: '5', name: 'ÜNAL ŞAHIN', city: 'İZMIR', amount: '310.00' },
];

const FINISHED: JobStatus[] = [...TERMINAL_JOB_STATUSES];

/** Polls `GET /jobs/{id}/status` until the job is in one of `statuses` (finished, by default). */
export async function waitForJob(
  api: ApiClient,
  jobId: string,
  { statuses = FINISHED, timeoutMs = 60_000 }: { statuses?: JobStatus[]; timeoutMs?: number } = {},
): Promise<Job> {
  const until = Date.now() + timeoutMs;
  let last: Job | undefined;
  while (Date.now() < until) {
    const res = await api.get<Job>(`/api/v1/jobs/${jobId}/status`);
    if (res.status !== 200) throw new Error(`status answered ${res.status}: ${res.text}`);
    last = res.body;
    if (statuses.includes(last.status)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `job ${jobId} not in ${statuses.join('/')} within ${timeoutMs} ms: ${JSON.stringify(last)}`,
  );
}

export async function createPipeline(api: ApiClient, body: object): Promise<Pipeline> {
  const res = await api.post<Pipeline>('/api/v1/pipelines', body);
  if (res.status !== 201) throw new Error(`create pipeline answered ${res.status}: ${res.text}`);
  return res.body;
}

export async function submitJob(api: ApiClient, body: object): Promise<Job> {
  const res = await api.post<Job>('/api/v1/jobs', body);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Every result row of a job, following the pages. */
export async function allResultRows(
  api: ApiClient,
  jobId: string,
  limit = 100,
): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const after = cursor === null ? '' : `&cursor=${cursor}`;
    const res: ApiResponse<JobResults> = await api.get<JobResults>(
      `/api/v1/jobs/${jobId}/results?limit=${limit}${after}`,
    );
    if (res.status !== 200) throw new Error(`results answered ${res.status}: ${res.text}`);
    rows.push(...res.body.rows);
    cursor = res.body.nextCursor;
  } while (cursor);
  return rows;
}

/** Every line of a job's log, following the pages `limit` at a time; and the size of each page. */
export async function allLogLines(
  api: ApiClient,
  jobId: string,
  limit = 100,
): Promise<{ items: JobLogEntry[]; pages: number[] }> {
  const items: JobLogEntry[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const after = cursor === null ? '' : `&cursor=${cursor}`;
    const res: ApiResponse<Page<JobLogEntry>> = await api.get<Page<JobLogEntry>>(
      `/api/v1/jobs/${jobId}/logs?limit=${limit}${after}`,
    );
    if (res.status !== 200) throw new Error(`logs answered ${res.status}: ${res.text}`);
    items.push(...res.body.items);
    pages.push(res.body.items.length);
    cursor = res.body.nextCursor;
  } while (cursor);
  return { items, pages };
}
