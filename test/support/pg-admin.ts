import postgres from "postgres";

// Quoted identifiers would allow anything, but test code has no need for names
// that need quoting, and a strict pattern keeps the SQL obviously safe.
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Creates an empty database on the server behind `adminUrl`; returns its URL. */
export async function createDatabaseAt(adminUrl: string, name: string): Promise<string> {
  if (!DATABASE_NAME.test(name)) {
    throw new Error(`invalid test database name ${JSON.stringify(name)}: use [a-z0-9_], at most 63 chars`);
  }
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`create database ${sql(name)}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
  return withDatabase(adminUrl, name);
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Throws unless a real query succeeds; used to decide that a server is ready. */
export async function probePostgres(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}
