import { AppError, PageQuerySchema } from '@cloudflow/contracts';
import { parseQuery, requireResourceId } from './request-validation';

function thrownBy(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('parseQuery with PageQuerySchema', () => {
  it('defaults limit to 20 when no query is given', () => {
    expect(parseQuery(PageQuerySchema, {})).toEqual({ limit: 20 });
    expect(parseQuery(PageQuerySchema, undefined)).toEqual({ limit: 20 });
  });

  it('reads limit from its query string form and keeps the cursor', () => {
    expect(parseQuery(PageQuerySchema, { limit: '1' })).toEqual({ limit: 1 });
    expect(parseQuery(PageQuerySchema, { limit: '100', cursor: 'cGxfMQ' })).toEqual({
      limit: 100,
      cursor: 'cGxfMQ',
    });
  });

  it.each(['0', '101', 'abc', '-1', '2.5', ''])(
    'refuses limit=%p with 4002 naming the parameter',
    (limit) => {
      const error = thrownBy(() => parseQuery(PageQuerySchema, { limit }));
      expect(error.code).toBe(4002);
      expect(error.status).toBe(400);
      expect(error.details).toMatch(/^query parameter 'limit' /);
    },
  );

  it('says what is wrong with a limit', () => {
    expect(thrownBy(() => parseQuery(PageQuerySchema, { limit: '0' })).details).toBe(
      "query parameter 'limit' must be at least 1",
    );
    expect(thrownBy(() => parseQuery(PageQuerySchema, { limit: '101' })).details).toBe(
      "query parameter 'limit' must be at most 100",
    );
    expect(thrownBy(() => parseQuery(PageQuerySchema, { limit: 'abc' })).details).toBe(
      "query parameter 'limit' must be a number",
    );
  });

  it('refuses a repeated limit', () => {
    expect(thrownBy(() => parseQuery(PageQuerySchema, { limit: ['10', '20'] })).code).toBe(4002);
  });

  it('refuses an unknown query parameter, naming it', () => {
    const error = thrownBy(() => parseQuery(PageQuerySchema, { limit: '5', page: '2' }));
    expect(error.code).toBe(4002);
    expect(error.details).toBe("unknown query parameter 'page'");
  });

  it('refuses a cursor this API cannot have issued without echoing it', () => {
    const error = thrownBy(() => parseQuery(PageQuerySchema, { cursor: 'hunter2+secret/==' }));
    expect(error.code).toBe(4002);
    expect(error.details).toBe("query parameter 'cursor' is not a cursor returned by this API");
  });

  it('reports several bad parameters at once', () => {
    const error = thrownBy(() => parseQuery(PageQuerySchema, { limit: '0', sort: 'name' }));
    expect(error.details).toContain("query parameter 'limit'");
    expect(error.details).toContain("unknown query parameter 'sort'");
  });
});

describe('requireResourceId', () => {
  it.each(['pl_0192f1c4-7a3b-7c1d-9e2f-0123456789ab', 'fake-pipeline-123', 'A', 'x'.repeat(100)])(
    'returns the plausible id %p',
    (id) => {
      expect(requireResourceId('Pipeline', id)).toBe(id);
    },
  );

  it.each(['', 'x'.repeat(101), '../etc', 'pl_1;drop', 'pl 1', '{"$gt":""}', 'pl_1%00', 'pl.1'])(
    'answers 4040 for the impossible id %p',
    (id) => {
      const error = thrownBy(() => requireResourceId('Pipeline', id));
      expect(error.code).toBe(4040);
      expect(error.status).toBe(404);
      expect(error.details).toMatch(/^Pipeline '.*' was not found$/s);
    },
  );

  it('names the resource and cuts a long id short in the details', () => {
    const error = thrownBy(() => requireResourceId('Job', `${'j'.repeat(150)}!`));
    expect(error.details).toBe(`Job '${'j'.repeat(100)}' was not found`);
  });
});
