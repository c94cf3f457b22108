// Vite build of the web UI: web/ → web/dist (served by `pbs-store serve` at /).
// `npx vite --config web/vite.config.ts` runs a dev server that proxies /api2 to PBS_STORE_URL.
import { fileURLToPath } from 'node:url'

import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api2': {
        target: process.env.PBS_STORE_URL ?? 'http://127.0.0.1:8007',
        changeOrigin: true,
        secure: false,
      },
    },
  },
})
