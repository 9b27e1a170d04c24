/** Where artifacts go in object storage: a bucket and a key prefix ("" for the bucket's root). */
export interface S3Target {
  bucket: string;
  prefix: string;
}

// S3's rules for bucket names (lowercase letters, digits, dots and hyphens, 3 to 63 characters).
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
// Key prefixes stay plain: path segments of letters, digits and `._-`, so a key is never surprising.
const prefixPattern = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/** `s3://bucket/prefix` as a target, or a message saying what is wrong with it. */
export function parseS3Url(url: string): S3Target | { problem: string } {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(url);
  if (!match) return { problem: 'must be "postgres" or s3://bucket/prefix' };
  const bucket = match[1] ?? '';
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  if (!bucketPattern.test(bucket)) {
    return { problem: `bucket "${bucket}" is not a valid S3 bucket name (3-63 of a-z, 0-9, "." and "-")` };
  }
  const dotSegment = prefix.split('/').some((segment) => segment === '.' || segment === '..');
  if (prefix !== '' && (!prefixPattern.test(prefix) || dotSegment)) {
    return { problem: `prefix "${prefix}" must be path segments of letters, digits, ".", "_" and "-" (not . or ..)` };
  }
  return { bucket, prefix };
}

/** The target as configured: `s3://bucket/prefix` (or `s3://bucket`); also how the store is named in errors. */
export function s3UrlOf(target: S3Target): string {
  return target.prefix === '' ? `s3://${target.bucket}` : `s3://${target.bucket}/${target.prefix}`;
}

/** An object's place: its bucket and key. */
export interface S3Object {
  bucket: string;
  key: string;
}

/** The object artifact `id` is stored as under `target`. */
export function objectOf(target: S3Target, id: string): S3Object {
  return { bucket: target.bucket, key: target.prefix === '' ? id : `${target.prefix}/${id}` };
}

/** An object as an `artifacts.location`: s3://bucket/key. */
export function locationOf(object: S3Object): string {
  return `s3://${object.bucket}/${object.key}`;
}

/** The object an `artifacts.location` names, or null when it names none (Postgres). */
export function objectAt(location: string): S3Object | null {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(location);
  return match ? { bucket: match[1] ?? '', key: match[2] ?? '' } : null;
}
