// Creates or drops one database for a CI run: `node scripts/ci-database.mjs create|drop ADMIN_URL NAME`.
import pg from 'pg';

const [action, adminUrl, name] = process.argv.slice(2);
if (!['create', 'drop'].includes(action) || !adminUrl || !/^[a-z_][a-z0-9_]*$/.test(name ?? '')) {
  console.error('usage: ci-database.mjs create|drop ADMIN_URL NAME');
  process.exit(2);
}
const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
try {
  await client.connect();
} catch (error) {
  console.error(`CI needs PostgreSQL at ${new URL(adminUrl).host}: ${error.message}`);
  process.exit(1);
}
if (action === 'create') {
  await client.query(`create database ${name}`);
  console.log(`created database ${name}`);
} else {
  await client.query(`drop database if exists ${name} with (force)`);
  console.log(`dropped database ${name}`);
}
await client.end();
