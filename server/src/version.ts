/** The server's version, reported in Welcome and the discovery documents. */
export const SERVER_VERSION = "0.1.0";
