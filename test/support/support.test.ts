// Proves the harness itself: real servers start, isolate, restart and recover.
import { connect } from "@nats-io/transport-node";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freshDatabaseUrl } from "./databases.js";
import { startNats, type NatsServer } from "./nats.js";
import { startPostgres, type PostgresServer } from "./postgres.js";

type Sql = ReturnType<typeof postgres>;

async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe("startPostgres", () => {
  let pg: PostgresServer;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  it("serves queries on loopback", async () => {
    expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
    const rows = await withSql(pg.url, (sql) => sql`select 1 as one, current_setting('fsync') as fsync`);
    expect(rows[0]).toEqual({ one: 1, fsync: "off" });
  });

  it("createDatabase gives isolated databases", async () => {
    const a = await pg.createDatabase("iso_a");
    const b = await pg.createDatabase("iso_b");
    await withSql(a, (sql) => sql`create table t (x int)`);
    const inB = await withSql(b, (sql) => sql`select to_regclass('t') as t`);
    expect(inB[0]?.t).toBeNull();
    await expect(pg.createDatabase("Bad-Name")).rejects.toThrow(/invalid test database name/);
  });

  it("keeps data across stop/start on the same port", async () => {
    const db = await pg.createDatabase("persist");
    await withSql(db, (sql) => sql`create table kept (v text); insert into kept values ('hello')`.simple());
    const port = pg.port;
    await pg.stop();
    expect(pg.pid).toBeUndefined();
    await expect(withSql(db, (sql) => sql`select 1`)).rejects.toThrow();
    await pg.start();
    expect(pg.port).toBe(port);
    const rows = await withSql(db, (sql) => sql`select v from kept`);
    expect(rows.map((r) => r.v)).toEqual(["hello"]);
  });

  it("recovers after the postmaster is SIGKILLed", async () => {
    const db = await pg.createDatabase("crash");
    // A connection held open across the crash, like a real server's pool.
    const sql = postgres(db, { max: 1, onnotice: () => {} });
    try {
      await sql`create table c (v int)`;
      await sql`insert into c values (42)`;
      await pg.kill();
      await expect(sql`select 1`).rejects.toThrow();
      await pg.start();
      // postgres.js reconnects on the next query.
      const rows = await sql`select v from c`;
      expect(rows.map((r) => r.v)).toEqual([42]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});

describe("startNats", () => {
  let nats: NatsServer;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.destroy();
  });

  async function roundTrip(url: string, subject: string): Promise<string> {
    const nc = await connect({ servers: url });
    try {
      const sub = nc.subscribe(subject, { max: 1 });
      nc.publish(subject, `hi ${subject}`);
      for await (const msg of sub) return msg.string();
      throw new Error("subscription closed without a message");
    } finally {
      await nc.close();
    }
  }

  it("delivers a published message", async () => {
    expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(await roundTrip(nats.url, "baton.test.a")).toBe("hi baton.test.a");
  });

  it("serves again after stop/start and kill/start on the same port", async () => {
    await nats.stop();
    await expect(connect({ servers: nats.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await nats.start();
    expect(await roundTrip(nats.url, "baton.test.b")).toBe("hi baton.test.b");
    await nats.kill();
    await nats.start();
    expect(await roundTrip(nats.url, "baton.test.c")).toBe("hi baton.test.c");
  });
});

describe("global setup", () => {
  it("provides a shared nats-server", async () => {
    const nc = await connect({ servers: inject("natsUrl") });
    await nc.flush();
    await nc.close();
    expect(process.env.BATON_TEST_NATS_URL ?? inject("natsUrl")).toBe(inject("natsUrl"));
  });

  it("hands out fresh, isolated databases on the shared Postgres", async () => {
    const [a, b] = await Promise.all([freshDatabaseUrl(), freshDatabaseUrl()]);
    expect(a).not.toBe(b);
    expect(new URL(a).host).toBe(new URL(inject("databaseUrl")).host);
    await withSql(a, (sql) => sql`create table only_in_a (x int)`);
    const inB = await withSql(b, (sql) => sql`select to_regclass('only_in_a') as t`);
    expect(inB[0]?.t).toBeNull();
  });
});
