// A test target imports `OutpostTesting` alone: the client core's value types (`ServerID`,
// `OutboxItem`, `OutpostEvent` …) and the simulator's (`ServerBehaviour`, `Scenario.FaultKind`,
// `SimulationResult`) are part of this module's API.
@_exported import OutpostClientCore
@_exported import OutpostSimulation
