import { describe, expect, it } from 'vitest';
import { StorageConfigError } from '../errors.js';
import { LocalFileStorage } from '../local/index.js';
import { S3FileStorage } from '../s3/index.js';
import { createFileStorage, storageConfigFromEnv, storageEnvSchema, storageFromEnv } from './index.js';

const parse = (env: Record<string, string>) => storageEnvSchema.parse(env);

describe('storageEnv', () => {
  it('defaults to a local directory', () => {
    const env = parse({});
    expect(env).toMatchObject({
      FILE_STORAGE: 'local',
      FILE_STORAGE_DIR: '.data/files',
      S3_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: false,
    });
    expect(storageConfigFromEnv(env)).toEqual({ kind: 'local', directory: '.data/files' });
  });

  it('builds an s3 config from every variable', () => {
    const env = parse({
      FILE_STORAGE: 's3',
      S3_BUCKET: 'sluice-files',
      S3_REGION: 'eu-west-1',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: 'id',
      S3_SECRET_ACCESS_KEY: 'secret',
      S3_PREFIX: 'prod/files',
    });
    expect(storageConfigFromEnv(env)).toEqual({
      kind: 's3',
      bucket: 'sluice-files',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      accessKeyId: 'id',
      secretAccessKey: 'secret',
      prefix: 'prod/files',
    });
  });

  it('leaves credentials to the SDK chain when none are set', () => {
    const config = storageConfigFromEnv(parse({ FILE_STORAGE: 's3', S3_BUCKET: 'b' }));
    expect(config).toEqual({ kind: 's3', bucket: 'b', region: 'us-east-1', forcePathStyle: false });
  });

  it.each([
    [{ FILE_STORAGE: 'gcs' }, 'FILE_STORAGE'],
    [{ S3_ENDPOINT: 'not a url' }, 'S3_ENDPOINT'],
    [{ S3_ENDPOINT: 'ftp://example.com' }, 'S3_ENDPOINT'],
    [{ S3_FORCE_PATH_STYLE: 'maybe' }, 'S3_FORCE_PATH_STYLE'],
    [{ S3_PREFIX: '../other' }, 'S3_PREFIX'],
  ])('rejects %j naming %s', (env, variable) => {
    const result = storageEnvSchema.safeParse(env);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(variable);
  });

  it('names S3_BUCKET when s3 has no bucket', () => {
    expect(() => storageConfigFromEnv(parse({ FILE_STORAGE: 's3' }))).toThrow(StorageConfigError);
    expect(() => storageConfigFromEnv(parse({ FILE_STORAGE: 's3' }))).toThrow(/S3_BUCKET: required/);
  });

  it('names both key variables when only one is set', () => {
    const env = parse({ FILE_STORAGE: 's3', S3_BUCKET: 'b', S3_SECRET_ACCESS_KEY: 'secret' });
    expect(() => storageConfigFromEnv(env)).toThrow(/S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both/);
  });
});

describe('createFileStorage', () => {
  it('builds the backend the config names', async () => {
    const local = createFileStorage({ kind: 'local', directory: '/tmp/sluice-files' });
    expect(local).toBeInstanceOf(LocalFileStorage);
    const s3 = createFileStorage({ kind: 's3', bucket: 'b', region: 'us-east-1', prefix: 'p' });
    expect(s3).toBeInstanceOf(S3FileStorage);
    const fromEnv = storageFromEnv(parse({ FILE_STORAGE: 's3', S3_BUCKET: 'b' }));
    expect(fromEnv).toBeInstanceOf(S3FileStorage);
    await Promise.all([local.close(), s3.close(), fromEnv.close()]);
  });
});
