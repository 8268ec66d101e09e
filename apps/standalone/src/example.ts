import {
  PUBLISHED_EXAMPLE_PIPELINE,
  isTerminalStatus,
  type Job,
  type Pipeline,
} from '@cloudflow/contracts';

/**
 * Runs the published example over the API, as a user would: creates the
 * pipeline, submits a job, waits for it, prints its status and the result
 * rows. Answers the job's final status.
 */
export async function runPublishedExample(
  apiUrl: string,
  apiKey: string,
  say: (line: string) => void,
  timeoutMs = 60_000,
): Promise<string> {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        Authorization: `ApiKey ${apiKey}`,
        ...(body !== undefined && { 'Content-Type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  };

  say(
    'creating the published example pipeline (/fake/data.csv -> uppercase -> db://fake-database)',
  );
  const pipeline = await call<Pipeline>('POST', '/pipelines', PUBLISHED_EXAMPLE_PIPELINE);
  say(`pipeline ${pipeline.id}; submitting a job`);
  const submitted = await call<Job>('POST', '/jobs', { pipelineId: pipeline.id });
  const deadline = Date.now() + timeoutMs;
  let job = submitted;
  while (!isTerminalStatus(job.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    job = await call<Job>('GET', `/jobs/${submitted.jobId}/status`);
  }
  say(`job ${job.jobId}: ${job.status}`);
  process.stdout.write(`${JSON.stringify(job)}\n`);
  if (job.status === 'SUCCEEDED') {
    const results = await call<{ rows: unknown[] }>('GET', `/jobs/${job.jobId}/results`);
    say('result rows:');
    for (const row of results.rows) process.stdout.write(`${JSON.stringify(row)}\n`);
  } else if (job.error) {
    say(`the job did not succeed: ${job.error.message}`);
  }
  return job.status;
}
