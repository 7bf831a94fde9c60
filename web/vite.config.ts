/**
 * The web UI's build: Preact with TypeScript, bundled by Vite into web/dist (hashed file names
 * under assets/), which the Client service serves at /. `npm run build:web` runs it; `npm ci`
 * runs that through `prepare`. `npx vite web` serves the UI with hot reload and passes the
 * Client API through to the peer at 127.0.0.1:7870, as if the page were the peer's own.
 */
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const API = 'http://127.0.0.1:7870';
const API_ROUTES = ['/status', '/peers', '/network', '/shares', '/files', '/search', '/downloads'];

export default defineConfig({
  plugins: [preact({ devToolsEnabled: false })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Every browser that runs ES2022 modules knows modulepreload: no polyfill.
    modulePreload: { polyfill: false },
    // Every asset is a file of its own: the page's Content-Security-Policy allows no inline data but images.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: Object.fromEntries(
      API_ROUTES.map((route) => [
        route,
        {
          target: API,
          changeOrigin: true,
          // The peer refuses changes whose Origin is not its own (src/shared/site-guard.ts): the
          // page's own requests to this dev server are passed on as the peer's own origin.
          configure: (proxy) =>
            proxy.on('proxyReq', (proxyReq, req) => {
              if (req.headers['sec-fetch-site'] === 'same-origin' && req.headers.origin !== undefined) proxyReq.setHeader('origin', API);
            }),
        },
      ]),
    ),
  },
});
