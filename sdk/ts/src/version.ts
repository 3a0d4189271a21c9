/** Sent in Hello.sdk so ListWorkers shows which SDK a worker runs. Keep in step with package.json. */
export const SDK_VERSION = "0.1.0";
export const SDK_NAME = `baton-ts/${SDK_VERSION}`;
