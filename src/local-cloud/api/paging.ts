import type { Params } from '../contracts';
import { CloudError } from '../errors';

export interface PageByNumber<T> {
  items: T[];
  body: { TotalCount: number; PageNumber: number; PageSize: number };
}

/** PageNumber/PageSize paging; a PageSize outside 1..max is refused with InvalidParameter (assumed). */
export function pageByNumber<T>(
  all: T[],
  params: Params,
  opts: { defaultSize: number; max: number },
): PageByNumber<T> {
  const pageNumber = params.int('PageNumber', 1)!;
  const pageSize = params.int('PageSize', opts.defaultSize)!;
  if (pageNumber < 1) throw CloudError.of('InvalidParameter', 'PageNumber', 'It must be 1 or more.');
  if (pageSize < 1 || pageSize > opts.max)
    throw CloudError.of('InvalidParameter', 'PageSize', `Valid values: 1 to ${opts.max}.`);
  const start = (pageNumber - 1) * pageSize;
  return {
    items: all.slice(start, start + pageSize),
    body: { TotalCount: all.length, PageNumber: pageNumber, PageSize: pageSize },
  };
}

export interface PageByToken<T> {
  items: T[];
  body: { TotalCount?: number; NextToken: string };
}

/**
 * What TotalCount says under MaxResults/NextToken paging. The docs: "when NextToken is specified, TotalCount is
 * invalid" (DescribeNetworkInterfaces), "meaningless" (DescribeInstances), not returned (DescribeSecurityGroups). So
 * it is no count of the matches here either: `page`, the items of this page only [assumed value]; `none`, absent.
 */
export type TokenTotalCount = 'page' | 'none';

/**
 * MaxResults/NextToken paging. As documented for DescribeInstances and DescribeNetworkInterfaces, a MaxResults
 * under `min` becomes `min` and one over `max` becomes `max`. The token is opaque to callers.
 */
export function pageByToken<T>(
  all: T[],
  params: Params,
  opts: { defaultSize: number; min?: number; max: number; totalCount?: TokenTotalCount },
): PageByToken<T> {
  const size = Math.min(opts.max, Math.max(opts.min ?? 1, params.int('MaxResults', opts.defaultSize)!));
  const token = params.str('NextToken');
  let start = 0;
  if (token) {
    const m = /^offset:(\d+)$/.exec(Buffer.from(token, 'hex').toString('utf8'));
    if (!m || Number(m[1]) > all.length)
      throw CloudError.of('InvalidParameter', 'NextToken', 'The token is not valid.');
    start = Number(m[1]);
  }
  const end = start + size;
  const items = all.slice(start, end);
  const nextToken = end < all.length ? Buffer.from(`offset:${end}`).toString('hex') : '';
  return {
    items,
    body:
      opts.totalCount === 'none'
        ? { NextToken: nextToken }
        : { TotalCount: items.length, NextToken: nextToken },
  };
}

/** Token paging when the caller uses MaxResults or NextToken, else page numbers (both documented for these APIs). */
export function usesTokenPaging(params: Params): boolean {
  return params.raw.MaxResults !== undefined || params.raw.NextToken !== undefined;
}

/**
 * For APIs with both schemes (DescribeInstances, DescribeNetworkInterfaces, DescribeSecurityGroups): MaxResults or
 * NextToken selects token paging, PageNumber or PageSize page numbers; with neither, the first page carries both
 * PageNumber/PageSize and a NextToken, so either kind of caller can go on.
 */
export function pageEither<T>(
  all: T[],
  params: Params,
  opts: {
    defaultSize: number;
    tokenMin?: number;
    tokenMax: number;
    pageMax: number;
    tokenTotalCount: TokenTotalCount;
  },
): { items: T[]; body: Record<string, number | string> } {
  if (usesTokenPaging(params))
    return pageByToken(all, params, {
      defaultSize: opts.defaultSize,
      min: opts.tokenMin,
      max: opts.tokenMax,
      totalCount: opts.tokenTotalCount,
    });
  if (params.raw.PageNumber !== undefined || params.raw.PageSize !== undefined)
    return pageByNumber(all, params, { defaultSize: opts.defaultSize, max: opts.pageMax });
  // Neither scheme asked for: the page-number answer (a true TotalCount), with a NextToken for token callers.
  const first = pageByToken(all, params, { defaultSize: opts.defaultSize, max: opts.tokenMax });
  return {
    items: first.items,
    body: { ...first.body, TotalCount: all.length, PageNumber: 1, PageSize: opts.defaultSize },
  };
}
