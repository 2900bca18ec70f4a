import { GetObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { UserError } from '../../util/errors.js';
import { LOG_FILE_PATTERN, type Source, type SourceFile } from './source.js';

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!m) throw new UserError(`ingest: "${uri}" is not an S3 URI; write it as s3://bucket/prefix`);
    return { bucket: m[1], prefix: m[2] };
}

export function createS3Client(endpoint: string | undefined): S3Client {
    return new S3Client({
        // Region, credentials come from the usual AWS environment (AWS_REGION, AWS_ACCESS_KEY_ID, profiles, roles).
        region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
        // Checksums only where S3 requires them: S3-compatible stores (MinIO, R2, s3rver) differ here.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        maxAttempts: 3,
        // Fail fast on an unreachable endpoint instead of hanging the scheduled run.
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
}

function s3Error(err: unknown, bucket: string): UserError {
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    const fix =
        e.name === 'NoSuchBucket'
            ? 'check the bucket name'
            : e.name === 'CredentialsProviderError'
              ? 'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE / an instance role)'
              : status === 403 || e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId'
                ? 'check AWS credentials and that they allow s3:ListBucket and s3:GetObject'
                : 'check the endpoint (--endpoint / AWS_ENDPOINT_URL) and network';
    return new UserError(`ingest: S3 bucket ${bucket}: ${e.name ?? 'error'}: ${e.message ?? String(err)}; ${fix}`);
}

export interface S3SourceOptions {
    readonly client?: S3Client;
    /** Keys per ListObjectsV2 page (S3's maximum and default is 1000). */
    readonly pageSize?: number;
}

export function s3Source(uri: string, endpoint: string | undefined, options: S3SourceOptions = {}): Source {
    const client = options.client ?? createS3Client(endpoint);
    const { bucket, prefix } = parseS3Uri(uri);
    return {
        description: uri,
        async *list() {
            let token: string | undefined;
            do {
                let page: ListObjectsV2CommandOutput;
                try {
                    page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: options.pageSize }));
                } catch (err) {
                    throw s3Error(err, bucket);
                }
                for (const obj of page.Contents ?? []) {
                    if (!obj.Key || !LOG_FILE_PATTERN.test(obj.Key)) continue;
                    const key = obj.Key;
                    const file: SourceFile = {
                        uri: `s3://${bucket}/${key}`,
                        size: obj.Size ?? 0,
                        modifiedAt: obj.LastModified ?? null,
                        knownContentId: obj.ETag ? `etag:${obj.ETag.replaceAll('"', '')}` : undefined,
                        open: async () => {
                            try {
                                const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
                                return res.Body as Readable;
                            } catch (err) {
                                throw s3Error(err, bucket);
                            }
                        },
                    };
                    yield file;
                }
                token = page.IsTruncated ? page.NextContinuationToken : undefined;
            } while (token);
        },
    };
}
