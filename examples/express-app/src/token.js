// Mint a demo bearer token: node src/token.js <subject> [name] [role,role]
// Uses JWT_SECRET (default: the demo secret, the same default the server uses).
import { DEMO_JWT_SECRET, signHs256 } from './jwt.js';

const [sub = 'alice', name, roles] = process.argv.slice(2);
const claims = { sub, ...(name ? { name } : {}), ...(roles ? { roles: roles.split(',') } : {}) };
console.log(signHs256(claims, process.env.JWT_SECRET || DEMO_JWT_SECRET));
