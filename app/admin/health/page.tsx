// Admin health page: which processes are alive, and what the trainer chose as its backend.
import { requirePageUser } from "@/server/auth/session";
import { listServices } from "@/server/processes/heartbeat";

export default async function HealthPage() {
  await requirePageUser("admin", "/admin/health");
  const services = await listServices();
  return (
    <div>
      <h1 className="mb-4 text-2xl font-semibold">Health</h1>
      <table className="w-full border-collapse bg-white text-sm" data-testid="health-table">
        <thead>
          <tr className="border-b text-left">
            <th className="p-2">Process</th>
            <th className="p-2">Host / pid</th>
            <th className="p-2">Status</th>
            <th className="p-2">Last seen</th>
            <th className="p-2">Details</th>
          </tr>
        </thead>
        <tbody>
          {services.map((s) => (
            <tr key={s.id} className="border-b" data-testid={`health-${s.kind}`}>
              <td className="p-2 font-medium">{s.kind}</td>
              <td className="p-2">
                {s.host} / {s.pid}
              </td>
              <td className={`p-2 ${s.alive ? "text-green-700" : "text-red-700"}`}>
                {s.alive ? "alive" : "not responding"}
              </td>
              <td className="p-2">{s.lastSeenAt.toISOString()}</td>
              <td className="p-2 font-mono text-xs">{JSON.stringify(s.info)}</td>
            </tr>
          ))}
          {services.length === 0 && (
            <tr>
              <td colSpan={5} className="p-2 text-slate-600">
                No process has reported yet. Start the system with `npm start`.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
