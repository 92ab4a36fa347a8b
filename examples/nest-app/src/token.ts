// Print a demo bearer token: node dist/token.js <subject> [name]
import { DEMO_SECRET, signJwt } from './jwt.js';

const [sub = 'demo-user', name] = process.argv.slice(2);
const exp = Math.floor(Date.now() / 1000) + 3600;
console.log(signJwt({ sub, ...(name ? { name } : {}), roles: ['customer'], exp }, process.env['JWT_SECRET'] ?? DEMO_SECRET));
