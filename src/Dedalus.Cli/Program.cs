Console.Error.WriteLine("dedalus: not built yet");
return 1;
