import { defineConfig } from 'drizzle-kit';

/** PostgreSQL schema and migrations (`npm run db:generate:pg`); drizzle.config.ts is SQLite's. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/postgres/schema.ts',
  out: './src/store/postgres/migrations',
});
